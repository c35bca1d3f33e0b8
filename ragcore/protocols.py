"""Plugin contracts. Third parties implement these and register them as entry points
(groups ``ragcore.connectors``, ``ragcore.embedders``, ``ragcore.rerankers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ragcore.types import Document, DocumentRef


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised dense vectors (rows of a float32 matrix)."""

    name: str
    dim: int
    max_tokens: int

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens (chunk sizes are measured in these)."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant."""

    name: str

    def score(self, query: str, passages: Sequence[str], max_tokens: int = 256) -> np.ndarray: ...


@runtime_checkable
class Connector(Protocol):
    """A document source. ``list`` is cheap (no content); ``load`` reads one document.

    ``scope`` is the URI prefix this connector owns: indexed documents under it that ``list``
    no longer yields are deleted on sync.
    """

    scope: str

    def list(self) -> Iterable[DocumentRef]: ...

    def load(self, ref: DocumentRef) -> Document: ...


class ConnectorFactory(Protocol):
    """What the ``ragcore.connectors`` entry point names: a class (or callable) that builds a
    connector for a source string, plus ``accepts`` to claim sources."""

    def __call__(self, source: str) -> Connector: ...

    @staticmethod
    def accepts(source: str) -> bool: ...


@runtime_checkable
class Generator(Protocol):
    """What a ``ragcore.generators`` plugin builds: turns chat messages into a reply.

    ``on_token`` receives decoded text pieces as they are produced (for streaming); the return
    value is the whole reply."""

    name: str

    def generate(
        self,
        messages: Sequence[dict[str, str]],
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> str: ...
