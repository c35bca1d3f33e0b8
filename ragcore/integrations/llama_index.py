"""ragcore as a LlamaIndex retriever (``pip install 'ragcore[llama-index]'``).

    from ragcore.integrations.llama_index import RagcoreRetriever
    retriever = RagcoreRetriever.from_index_dir(".ragcore", k=5, mode="hybrid+rerank",
                                                groups=["staff"])
    engine = RetrieverQueryEngine.from_args(retriever, llm=...)

Each hit becomes a ``NodeWithScore`` whose ``TextNode`` carries the chunk's text, its id, its
character span, and ragcore's provenance in ``metadata`` (see ``common.provenance``); only
the title, source and heading path are shown to the LLM and the embedder.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ragcore.index import Index
from ragcore.integrations.common import SearchOptions, need, provenance
from ragcore.types import Hit

need("llama_index.core", "llama-index")

from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402

SHOWN = ("title", "source", "heading_path")  # metadata an LLM prompt includes


def to_node(hit: Hit) -> NodeWithScore:
    meta = provenance(hit)
    hidden = [key for key in meta if key not in SHOWN]
    node = TextNode(
        id_=hit.chunk.id,
        text=hit.chunk.text,
        metadata=meta,
        start_char_idx=hit.chunk.start,
        end_char_idx=hit.chunk.end,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
    )
    return NodeWithScore(node=node, score=hit.score)


class RagcoreRetriever(BaseRetriever):
    """A LlamaIndex ``BaseRetriever`` over an open ragcore ``Index``."""

    def __init__(
        self,
        index: Any,
        k: int = 10,
        mode: str | None = None,
        filters: Mapping[str, Any] | None = None,
        groups: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._index = index
        self._options = SearchOptions(k, mode, dict(filters or {}), groups)
        super().__init__(**kwargs)

    @classmethod
    def from_index_dir(cls, path: str | Path, **search_options: Any) -> RagcoreRetriever:
        return cls(Index.open(path), **search_options)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(h) for h in self._options.run(self._index, query_bundle.query_str)]
