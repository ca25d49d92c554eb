"""The book's library, one module per framework: from d2l import torch as d2l."""
__version__ = "0.1.0"
