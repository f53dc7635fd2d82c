"""Engage: public participation in appointments."""

__version__ = "0.1.0"
