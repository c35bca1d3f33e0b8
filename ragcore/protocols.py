"""Plugin contracts. Third parties implement these and register them as entry points
(groups ``ragcore.connectors``, ``ragcore.embedders``, ``ragcore.rerankers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragcore.types import Document, DocumentRef, Prompt, Skipped


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

    - ``scope``: the URI prefix this connector owns. Indexed documents under it that ``list``
      no longer yields are deleted on sync.
    - ``list``: every document the source holds now, as ``DocumentRef`` values with a stable
      ``id``, the item's ``source`` URI, a ``change_token`` (content hash, ETag, Last-Modified,
      commit or blob id, row version) and metadata (``MetadataKey``: title, author,
      updated_at, access). An item that exists but cannot be read is yielded as ``Skipped``:
      the index keeps what it had for it. If the source as a whole cannot be read, raise
      ``SourceError``: the sync leaves everything under ``scope`` as it was.
    - ``load``: the document's text; raise ``SourceError`` to skip just that item.
    """

    scope: str

    def list(self) -> Iterable[DocumentRef | Skipped]: ...

    def load(self, ref: DocumentRef) -> Document: ...


@runtime_checkable
class StatefulConnector(Connector, Protocol):
    """A connector that keeps state between syncs (a crawl's validators and links, the last
    synced commit). The sync engine hands back what ``checkpoint`` returned after the last
    completed sync of the same scope (``{}`` the first time), and stores the new checkpoint in
    the index's ledger once the run's writes are committed."""

    def restore(self, state: Mapping[str, Any]) -> None: ...

    def checkpoint(self) -> Mapping[str, Any]: ...


@runtime_checkable
class ClosingConnector(Connector, Protocol):
    """A connector that holds resources between ``list`` and the last ``load`` (a crawler's
    pooled HTTP connections): the sync engine calls ``close`` when a run ends. A closed
    connector may be used again; it reopens what it needs."""

    def close(self) -> None: ...


class ConnectorFactory(Protocol):
    """What the ``ragcore.connectors`` entry point names: a class (or callable) that builds a
    connector for a source string and keyword options (``ragcore.toml`` ``[[sources]]`` keys,
    ``ingest -o KEY=VALUE``), plus ``accepts`` to claim sources. ``priority`` (default 0)
    orders the claims: a catch-all such as the filesystem connector uses a negative one."""

    def __call__(self, source: str, **options: Any) -> Connector: ...

    @staticmethod
    def accepts(source: str) -> bool: ...


#: What a reply says when the passages do not hold the answer.
ABSTAIN_REPLY = "I don't know."


@dataclass(frozen=True)
class Reply:
    """A generator's structured reply.

    - ``answer``: the answer text, or None when it abstains; ``cited``: the passage numbers it
      cites (1-based, valid ones, in order of first mention); ``invalid``: numbers it wrote
      that name no passage (free-text generators only).
    - ``abstain_score``: the score the generator compared with its threshold to decide
      whether to abstain (higher: more likely to fail); None when it has none.
    - ``draft``: the best answer the generator found, also when it withheld it, with the
      passage it came from (``draft_cited``); None when it decoded none. Evaluation uses it
      to trace precision against coverage over thresholds without asking again."""

    answer: str | None
    cited: tuple[int, ...] = ()
    invalid: tuple[int, ...] = ()
    abstain_score: float | None = None
    draft: str | None = None
    draft_cited: int | None = None

    @property
    def abstained(self) -> bool:
        return self.answer is None

    @property
    def text(self) -> str:
        """The reply as shown: ``answer [n]``, or the abstention."""
        if self.answer is None:
            return ABSTAIN_REPLY
        return " ".join([self.answer, "".join(f"[{n}]" for n in self.cited)]).strip()


@runtime_checkable
class Generator(Protocol):
    """What a ``ragcore.generators`` plugin builds: answers a ``Prompt`` with a ``Reply``.

    ``on_token`` receives the reply's text in pieces as it is produced (for streaming; their
    concatenation is ``Reply.text``). A chat model renders the prompt to messages and parses
    its own text back inside (``ragcore.prompting.ChatAnswers``)."""

    name: str

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply: ...
