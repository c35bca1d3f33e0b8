"""ragcore: RAG-first retrieval. Chunk, embed, index dense + BM25 vectors in Qdrant, search
hybrid with engine-side fusion, rerank where it pays, and return hits with provenance."""

from ragcore.config import (
    Fusion,
    IndexConfig,
    RerankFusion,
    SearchConfig,
    SearchMode,
    Settings,
    StoreConfig,
)
from ragcore.errors import RagcoreError
from ragcore.index import Index, IndexStatus
from ragcore.search import SearchResult
from ragcore.sync import SyncReport
from ragcore.types import (
    AbstainReason,
    Answer,
    AnswerFlag,
    Chunk,
    Citation,
    Document,
    DocumentRef,
    Hit,
    ScoreKind,
    Skipped,
)

__version__ = "0.1.0"

__all__ = [
    "AbstainReason",
    "Answer",
    "AnswerFlag",
    "Chunk",
    "Citation",
    "Document",
    "DocumentRef",
    "Fusion",
    "Hit",
    "Index",
    "IndexConfig",
    "IndexStatus",
    "RagcoreError",
    "RerankFusion",
    "ScoreKind",
    "SearchConfig",
    "SearchMode",
    "SearchResult",
    "Settings",
    "Skipped",
    "StoreConfig",
    "SyncReport",
    "__version__",
]
