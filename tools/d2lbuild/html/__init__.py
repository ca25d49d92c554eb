"""The book as a website: notebooks of every tab merged into one MyST page per section, built by Sphinx."""
