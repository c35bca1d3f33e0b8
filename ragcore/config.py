"""Configuration as frozen dataclasses.

``IndexConfig`` fixes how an index is built (embedder, chunking, BM25 parameters); it is saved
beside the index as ``ragcore.json`` and checked on every open, the way peft saves
``adapter_config.json`` beside adapter weights. ``SearchConfig`` holds query-time settings.
Every setting can come from a ``ragcore.toml`` (sections ``[index]``, ``[search]``,
``[store]``, ``[serve]``, ``[ask]``) and from ``RAGCORE_<SECTION>_<KEY>`` environment
variables over it; command-line flags override both. Values are type-checked here, and an error
names the key, the type it takes and an example.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Self

from ragcore.errors import ConfigError, IncompatibleIndexError
from ragcore.grounding import GuardMode
from ragcore.settings_io import build, enum_value, read_toml, with_environment
from ragcore.sources import SourceSpec

#: Bumped when the on-disk layout or payload schema changes incompatibly.
FORMAT_VERSION = 1
CONFIG_FILE = "ragcore.json"


class SearchMode(StrEnum):
    """First-stage retrieval. ``+rerank`` is a separate switch (``SearchConfig.rerank``)."""

    BM25 = "bm25"
    DENSE = "dense"
    HYBRID = "hybrid"


class Fusion(StrEnum):
    """Engine-side fusion of the dense and BM25 candidate lists."""

    RRF = "rrf"  # Reciprocal rank fusion, Cormack et al. SIGIR 2009.
    DBSF = "dbsf"  # Distribution-based score fusion (mean +- 3 sd normalisation), Qdrant.


class RerankFusion(StrEnum):
    """How the cross-encoder's order meets the first-stage order."""

    REPLACE = "replace"  # the reranker's order replaces the first stage's
    RRF = "rrf"  # weighted reciprocal rank fusion of both orders


@dataclass(frozen=True)
class IndexConfig:
    """How an index is built. Changing any field requires re-ingesting (``--rebuild``)."""

    embedder: str = "bge-small-en-v1.5"
    chunk_size: int = 128  # tokens of the embedder's own tokenizer (docs/benchmarks.md)
    chunk_overlap: int = 16
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    bm25_avg_len: float = 256.0
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.chunk_size < 16:
            raise ConfigError(
                f"chunk_size={self.chunk_size} is too small", "use at least 16 tokens"
            )
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError(
                f"chunk_overlap={self.chunk_overlap} must be >= 0 and below chunk_size",
                f"pick an overlap under {self.chunk_size}",
            )

    def save(self, directory: Path, dim: int) -> None:
        data = asdict(self) | {"dim": dim}
        tmp = directory / (CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(directory / CONFIG_FILE)

    @classmethod
    def load(cls, directory: Path) -> tuple[Self, int]:
        path = directory / CONFIG_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise IncompatibleIndexError(
                f"{path} is missing or unreadable ({exc.__class__.__name__})",
                "this directory is not a ragcore index; pick another --index or re-ingest",
            ) from None
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IncompatibleIndexError(
                f"index at {directory} has format version {version}, this ragcore reads "
                f"version {FORMAT_VERSION}",
                "re-ingest into a fresh --index directory, or pass --rebuild to ingest",
            )
        dim = int(data.pop("dim", 0))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}), dim

    def differences(self, other: IndexConfig) -> list[str]:
        return [
            f"{f.name}: index has {getattr(self, f.name)!r}, requested {getattr(other, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


@dataclass(frozen=True)
class SearchConfig:
    """Query-time settings. Defaults were chosen on the SciFact tuning half (README,
    Benchmarks): hybrid DBSF over 300 candidates per retriever scored best; the cross-encoder
    lowered nDCG in every setting, so reranking is opt-in, and when on, its order is fused with
    the first stage's (weight 0.5, k=10) over the top 20 at 256 tokens, the least harmful."""

    mode: SearchMode = SearchMode.HYBRID
    rerank: bool = False
    fusion: Fusion = Fusion.DBSF
    rrf_k: int = 2
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    prefetch: int = 300  # candidates per retriever before fusion
    reranker: str = "ms-marco-MiniLM-L-12-v2"
    rerank_depth: int = 20
    rerank_max_tokens: int = 256
    rerank_fusion: RerankFusion = RerankFusion.RRF
    rerank_weight: float = 0.5  # weight of the reranker's order in RerankFusion.RRF
    rerank_rrf_k: int = 10

    def __post_init__(self) -> None:
        for name, enum in (
            ("mode", SearchMode),
            ("fusion", Fusion),
            ("rerank_fusion", RerankFusion),
        ):
            value = getattr(self, name)
            if not isinstance(value, enum):
                object.__setattr__(self, name, enum_value(enum, value, name))
        for name in ("dense_weight", "sparse_weight", "rerank_weight"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"{name} = {value!r} is not a finite number >= 0", f"e.g. {name} = 1.0"
                )
        if self.rerank_max_tokens < 16:
            raise ConfigError(
                f"rerank_max_tokens = {self.rerank_max_tokens} leaves the cross-encoder no text",
                "use at least 16 (default 256)",
            )
        if self.fusion is Fusion.DBSF and (self.dense_weight, self.sparse_weight) != (1.0, 1.0):
            raise ConfigError(
                "dense_weight/sparse_weight apply to RRF fusion only",
                "use fusion = rrf with weights, or drop the weights for dbsf",
            )
        if self.prefetch < 1 or self.rerank_depth < 1 or self.rrf_k < 1:
            raise ConfigError(
                "prefetch, rerank_depth and rrf_k must be positive", "use values >= 1"
            )

    @classmethod
    def parse_mode(cls, text: str) -> tuple[SearchMode, bool]:
        """``"hybrid+rerank"`` -> ``(SearchMode.HYBRID, True)``."""
        base, _, extra = text.partition("+")
        if extra not in ("", "rerank"):
            raise ConfigError(
                f"unknown mode suffix {extra!r}", "modes: bm25, dense, hybrid, each +rerank"
            )
        return enum_value(SearchMode, base, "mode"), extra == "rerank"

    @property
    def mode_name(self) -> str:
        return self.mode.value + ("+rerank" if self.rerank else "")


@dataclass(frozen=True)
class StoreConfig:
    """Where chunks live: an embedded qdrant-edge shard (default) or a Qdrant server/cluster."""

    url: str | None = None
    api_key: str | None = None
    collection: str = "ragcore"
    shard_number: int | None = None
    replication_factor: int | None = None
    timeout: float = 30.0
    #: seconds a process waits for an index that another process holds, then is refused
    #: (10 s: a search, 0.3-1.2 s on the demo index, and a short sync fit in it)
    lock_wait_s: float = 10.0

    def __post_init__(self) -> None:
        wait = self.lock_wait_s
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait < 1e6:
            raise ConfigError(
                f"lock_wait_s = {wait!r} is not a number of seconds >= 0",
                "set [store] lock_wait_s = 10 (or 0 to be refused at once)",
            )


@dataclass(frozen=True)
class ServeSettings:
    """``ragcore serve``'s limits. Generation is CPU-bound: ``max_running`` answers are
    generated at once (1 on 2 cores: two at once only share the cores), up to ``max_queue``
    more wait at most ``queue_timeout_s``; past that a request gets 503 with Retry-After.
    Searches never queue behind generations."""

    cors_origins: tuple[str, ...] = ()  # e.g. ["https://intranet.example.com"]; none: CORS off
    max_running: int = 1
    max_queue: int = 8
    queue_timeout_s: float = 30.0
    max_body_kb: int = 256

    def __post_init__(self) -> None:
        origins = self.cors_origins
        if isinstance(origins, str) or not all(isinstance(o, str) for o in origins):
            raise ConfigError(
                f"cors_origins = {origins!r} is not a list of origins",
                'write cors_origins = ["https://app.example.com"]',
            )
        object.__setattr__(self, "cors_origins", tuple(origins))
        for name in ("max_running", "max_queue", "max_body_kb"):
            if getattr(self, name) < (1 if name != "max_queue" else 0):
                raise ConfigError(f"{name} = {getattr(self, name)} is too small", "use e.g. 8")
        if not 0 < self.queue_timeout_s < 3600:
            raise ConfigError("queue_timeout_s must be in (0, 3600)", "use e.g. 30")


@dataclass(frozen=True)
class AskConfig:
    """How ``ask`` builds and checks an answer.

    - ``passages``: hits shown to the generator, numbered 1..n.
    - ``mode``: retrieval mode (``"hybrid+rerank"`` gives the gate a rerank score).
    - ``min_rerank_score``: retrieval gate; below it, abstain without generating (None: off).
    - ``guard``: what to do with an answer its cited passages do not support.
    - ``min_support``: share of the answer's key tokens that must occur in its citations.
    """

    passages: int = 3
    mode: str = "hybrid+rerank"  # a search mode, with +rerank or not
    min_rerank_score: float | None = None
    guard: GuardMode = GuardMode.ABSTAIN
    min_support: float = 0.6
    max_new_tokens: int = 48

    def __post_init__(self) -> None:
        object.__setattr__(self, "guard", enum_value(GuardMode, self.guard, "[ask] guard"))
        SearchConfig.parse_mode(self.mode)
        for name in ("passages", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"[ask] {name} = {getattr(self, name)} is not >= 1", f"set [ask] {name} = 3"
                )
        if not 0.0 <= self.min_support <= 1.0:
            raise ConfigError(
                f"[ask] min_support = {self.min_support} is not in [0, 1]",
                "set [ask] min_support = 0.6",
            )


@dataclass(frozen=True)
class Settings:
    """Everything ``ragcore.toml`` can set."""

    index_dir: Path = Path(".ragcore")
    index: IndexConfig = field(default_factory=IndexConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    index_explicit: bool = False  # [index] was given, so it must match an existing index
    sources: tuple[SourceSpec, ...] = ()  # [[sources]]: what ``ragcore sync`` keeps in step
    serve: ServeSettings = field(default_factory=ServeSettings)
    ask: AskConfig = field(default_factory=AskConfig)

    @classmethod
    def load(cls, path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``path`` (or ``./ragcore.toml`` if present), then ``RAGCORE_*`` environment
        variables over it (``RAGCORE_STORE_API_KEY``, ``RAGCORE_SEARCH_MODE``...: the section
        and the key, upper case; ``RAGCORE_INDEX_DIR`` for ``index_dir``); defaults otherwise.
        Command-line flags override both."""
        if path is None:
            path = Path("ragcore.toml")
            data = read_toml(path) if path.exists() else {}
        else:
            data = read_toml(path)
        data = with_environment(data, os.environ if environ is None else environ, SECTIONS)
        unknown = set(data) - {"index_dir", *SECTIONS, "sources"}
        if unknown:
            raise ConfigError(
                f"{path}: unknown keys {sorted(unknown)}",
                "top-level keys are index_dir, the tables [index], [search], [store], [serve], "
                "[ask] and the array of tables [[sources]]",
            )
        tables = data.get("sources", [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ConfigError(
                f"{path}: sources must be an array of tables", 'write [[sources]] then uri = "..."'
            )
        index_dir = data.get("index_dir", ".ragcore")
        if not isinstance(index_dir, str) or not index_dir:
            raise ConfigError(
                f"{path}: index_dir = {index_dir!r} is not a folder path (a string)",
                'write index_dir = ".ragcore" (quoted)',
            )
        built = {
            name: build(kind, data.get(name, {}), path, name) for name, kind in SECTIONS.items()
        }
        return cls(
            index_dir=Path(index_dir),
            **built,
            index_explicit="index" in data,
            sources=tuple(SourceSpec.from_table(t, str(path)) for t in tables),
        )


SECTIONS: dict[str, type] = {
    "index": IndexConfig,
    "search": SearchConfig,
    "store": StoreConfig,
    "serve": ServeSettings,
    "ask": AskConfig,
}
