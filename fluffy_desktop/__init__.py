"""Fluffy: an offline photo album that learns your things."""

__version__ = "0.1.0"
