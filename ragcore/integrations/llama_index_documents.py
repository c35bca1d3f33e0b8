"""LlamaIndex ``Document``s into a ragcore index, through the sync engine
(``pip install 'ragcore[llama-index]'``).

    from ragcore.integrations.llama_index_documents import ingest_documents
    documents = SimpleDirectoryReader("docs/").load_data()      # or any LlamaIndex reader
    report = ingest_documents(index, documents, scope="llamaindex://handbook", groups=["staff"])

The documents are one source, named by ``scope``: a document is identified by its
``doc_id`` (give your readers stable ids, e.g. ``filename_as_id=True``), so a second call with
the same scope adds new documents, re-indexes changed ones (text or metadata), skips unchanged
ones and deletes those no longer passed. Metadata that is JSON (strings, numbers, booleans,
lists of them) is kept and can be filtered on; a document's own ``access`` list wins over
``groups``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ragcore.errors import ConfigError
from ragcore.ids import content_hash, document_id
from ragcore.index import Index
from ragcore.integrations.common import need
from ragcore.sources import SourceAccess
from ragcore.sync import SyncReport
from ragcore.types import Document, DocumentRef, MetadataKey, Skipped

need("llama_index.core", "llama-index")

SCHEME = "llamaindex://"


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata values ragcore stores and filters on (JSON scalars and lists of them)."""

    def keep(value: Any) -> bool:
        scalar = (str, int, float, bool)
        return isinstance(value, scalar) or (
            isinstance(value, list) and all(isinstance(v, scalar) for v in value)
        )

    return {str(k): v for k, v in metadata.items() if keep(v)}


class LlamaIndexDocuments:
    """A connector over LlamaIndex ``Document``s (any ``BaseNode`` with text and an id)."""

    def __init__(self, documents: Iterable[Any], scope: str) -> None:
        if not scope.startswith(SCHEME) or scope == SCHEME:
            raise ConfigError(
                f"scope {scope!r} does not name a source",
                f'pass scope="{SCHEME}<name>", e.g. "{SCHEME}handbook"',
            )
        self.scope = scope.rstrip("/") + "/"
        self._docs: dict[str, tuple[str, dict[str, Any]]] = {}
        for doc in documents:
            text = doc.get_content() if hasattr(doc, "get_content") else None
            doc_id = getattr(doc, "doc_id", None) or getattr(doc, "id_", None)
            if not isinstance(text, str) or not doc_id:
                raise ConfigError(
                    f"{type(doc).__name__} is not a LlamaIndex document with text and an id",
                    "pass llama_index.core.Document objects",
                )
            if doc_id in self._docs:
                raise ConfigError(
                    f"two documents share the id {doc_id!r}",
                    "give each document its own doc_id (readers: filename_as_id=True)",
                )
            self._docs[str(doc_id)] = (text, _plain(doc.metadata))

    def _source(self, doc_id: str) -> str:
        return self.scope + doc_id

    def list(self) -> Iterator[DocumentRef | Skipped]:
        for doc_id, (text, meta) in self._docs.items():
            source = self._source(doc_id)
            if not text.strip():
                yield Skipped(source, "the document has no text")
                continue
            token = content_hash(text + "\0" + json.dumps(meta, sort_keys=True, default=str))
            meta = {MetadataKey.TITLE.value: meta.get("file_name", doc_id), **meta}
            yield DocumentRef(document_id(source), source, token, meta)

    def load(self, ref: DocumentRef) -> Document:
        text, _ = self._docs[ref.source.removeprefix(self.scope)]
        return Document(ref.id, ref.source, text, ref.change_token, dict(ref.metadata))


def ingest_documents(
    index: Index,
    documents: Iterable[Any],
    *,
    scope: str,
    groups: Sequence[str] | None = None,
    quiet: bool = True,
) -> SyncReport:
    """Sync ``documents`` into ``index`` as the source ``scope`` (see the module docstring).
    ``groups``: who may see documents that carry no ``access`` list of their own (None: the
    groups this scope was given before, else public)."""
    connector = LlamaIndexDocuments(documents, scope)
    shared = None if groups is None else tuple(groups)
    return index.ingest([SourceAccess(connector, shared)], quiet=quiet)
