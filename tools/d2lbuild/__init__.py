"""d2lbuild: build a multi-framework book into libraries and notebooks, and prove that it runs."""

__version__ = "0.1.0"
