"""ragcore as a LangChain retriever (``pip install 'ragcore[langchain]'``).

    from ragcore.integrations.langchain import RagcoreRetriever
    retriever = RagcoreRetriever.from_index_dir(".ragcore", k=5, groups=["staff"])
    docs = retriever.invoke("how do I reset my password")   # or inside an LCEL chain

Each hit becomes a ``Document`` with the chunk's text, ``id`` = the chunk id, and ragcore's
provenance in ``metadata`` (see ``common.provenance``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragcore.index import Index
from ragcore.integrations.common import SearchOptions, need, provenance
from ragcore.types import Hit

need("langchain_core", "langchain")

from langchain_core.callbacks import CallbackManagerForRetrieverRun  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402


def to_document(hit: Hit) -> Document:
    return Document(page_content=hit.chunk.text, metadata=provenance(hit), id=hit.chunk.id)


class RagcoreRetriever(BaseRetriever):
    """A LangChain ``BaseRetriever`` over an open ragcore ``Index``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    k: int = 10
    mode: str | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    groups: list[str] | None = None

    @classmethod
    def from_index_dir(cls, path: str | Path, **search_options: Any) -> RagcoreRetriever:
        return cls(index=Index.open(path), **search_options)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        options = SearchOptions(self.k, self.mode, self.filters, self.groups)
        return [to_document(h) for h in options.run(self.index, query)]
