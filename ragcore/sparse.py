"""BM25 sparse vectors from qdrant-edge's built-in encoder (tokenize, stopwords, Snowball stem).

Documents get saturated term frequencies (k1, b, avg_len); queries get weight 1 per unique
term; the engine applies IDF at query time (sparse vector ``modifier=IDF``), giving BM25
(Robertson & Zaragoza, 2009) computed inside Qdrant.
"""

from __future__ import annotations

from dataclasses import dataclass

from qdrant_edge import Bm25, Bm25Config


@dataclass(frozen=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]


class Bm25Encoder:
    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 256.0) -> None:
        self._model = Bm25(Bm25Config(k=k1, b=b, avg_len=avg_len, language="english"))

    def document(self, text: str) -> SparseVector:
        v = self._model.embed_document(text)
        return SparseVector(tuple(v.indices), tuple(v.values))

    def query(self, text: str) -> SparseVector:
        v = self._model.embed_query(text)
        return SparseVector(tuple(v.indices), tuple(v.values))
