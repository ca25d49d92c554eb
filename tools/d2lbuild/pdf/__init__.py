"""``d2lbuild pdf``: one printable book per framework, from the website's pages."""
