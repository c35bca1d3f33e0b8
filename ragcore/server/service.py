"""What the routes of ``ragcore serve`` share: the open index, the reader (loaded once, one
generation at a time), the keys, the counters and the sync jobs."""

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from ragcore.ask import AskConfig, answer_retrieved, retrieve
from ragcore.config import Settings
from ragcore.errors import (
    ConfigError,
    EmptyIndexError,
    IndexBusyError,
    IndexNotFoundError,
    PluginError,
    RagcoreError,
)
from ragcore.index import Index
from ragcore.index_folder import reader_adapter
from ragcore.plugins import DEFAULT_GENERATOR, load_generator
from ragcore.progress import Progress
from ragcore.server.keys import KeyStore
from ragcore.server.metrics import Metrics
from ragcore.types import Answer

MAX_K = 100
MAX_QUESTION = 4000  # characters: a question, not a document
STATUS = {ConfigError: 400, IndexNotFoundError: 409, EmptyIndexError: 409, IndexBusyError: 503,
          PluginError: 503}  # fmt: skip


@dataclass(frozen=True)
class ServeConfig:
    settings: Settings
    generator: str | None = DEFAULT_GENERATOR  # None: search only, /v1/ask answers 503
    model: str | None = None
    adapter: str | None = None
    ask: AskConfig | None = None  # None: the settings' [ask]

    def __post_init__(self) -> None:
        if self.ask is None:
            object.__setattr__(self, "ask", self.settings.ask)


class Service:
    """What the routes share: the index, the reader, the keys, the counters, the sync jobs."""

    def __init__(self, config: ServeConfig) -> None:
        s = config.settings
        self.config = config
        self.index = Index.open(s.index_dir, store=s.store, search=s.search)
        self.keys = KeyStore(s.index_dir)
        self.metrics = Metrics()
        self.generator: Any = None
        self.load_error: str | None = None
        self.ready = threading.Event()
        limits = config.settings.serve
        self.reading = threading.BoundedSemaphore(limits.max_running)
        self.waiting = 0  # requests queued for the reader
        self.queue_lock = threading.Lock()
        self.syncing = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        """Warm the embedder and reranker, then load the reader (in a thread at start-up)."""
        with contextlib.suppress(EmptyIndexError):
            self.index.search("warm up", k=1, mode=self.config.ask.mode)
        try:
            if self.config.generator:
                c = self.config
                adapter = reader_adapter(c.settings.index_dir, c.adapter)
                self.generator = load_generator(c.generator, c.model, adapter=adapter)
        except RagcoreError as exc:
            self.load_error = exc.message
        self.ready.set()

    def reader(self) -> Any:
        if not self.ready.is_set():
            raise HTTPException(503, "the reader is still loading; GET /readyz says when")
        if self.generator is None:
            raise HTTPException(503, self.load_error or "this server runs without a reader")
        return self.generator

    def answer(self, question: str, groups: tuple[str, ...] | None, on_token: Any = None) -> Answer:
        retrieval = retrieve(self.index, question, self.config.ask, groups)
        generator = self.reader()
        with self._turn():
            answer = answer_retrieved(retrieval, generator, self.config.ask, on_token=on_token)
        self.metrics.answered(answer.abstained)
        return answer

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """A place among the running generations: wait in a bounded queue, or 503."""
        limits = self.config.settings.serve
        busy = {"Retry-After": str(max(1, round(limits.queue_timeout_s / 4)))}
        with self.queue_lock:
            if self.waiting >= limits.max_queue + limits.max_running:
                raise HTTPException(503, "the reader is busy: too many questions queued", busy)
            self.waiting += 1
        try:
            if not self.reading.acquire(timeout=limits.queue_timeout_s):
                raise HTTPException(503, "the reader is busy: no turn within the time limit", busy)
            try:
                yield
            finally:
                self.reading.release()
        finally:
            with self.queue_lock:
                self.waiting -= 1

    def start_sync(self) -> dict[str, Any]:
        sources = list(self.config.settings.sources)
        if not sources:
            raise ConfigError("no [[sources]] in ragcore.toml to sync", "add [[sources]] tables")
        if not self.syncing.acquire(blocking=False):
            raise HTTPException(409, "a sync is already running")
        job = {"id": uuid.uuid4().hex[:12], "status": "running", "started": time.time()}
        self.jobs[job["id"]] = job

        def run() -> None:
            try:
                progress = Progress(report=lambda tasks: job.update(progress={
                    d: {"done": n, "total": t} for d, (n, t) in tasks.items()}))  # fmt: skip
                report = self.index.ingest(sources, progress=progress)
                job.update(status="done", report=report.to_json())
            except RagcoreError as exc:
                job.update(status="failed", error=exc.message)
            finally:
                job["finished"] = time.time()
                self.syncing.release()

        threading.Thread(target=run, name="ragcore-sync", daemon=True).start()
        return job


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def streamed(work: Any) -> Iterator[tuple[str, Any]]:
    """Run ``work(on_token)`` in a thread; yield ("token", piece)... then ("final", result)
    or ("error", message)."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            events.put(("final", work(lambda piece: events.put(("token", piece)))))
        except HTTPException as exc:
            events.put(("error", {"status": exc.status_code, "detail": exc.detail}))
        except RagcoreError as exc:
            events.put(("error", {"status": STATUS.get(type(exc), 500), "detail": exc.message}))

    threading.Thread(target=run, daemon=True).start()
    while True:
        kind, value = events.get()
        yield kind, value
        if kind != "token":
            return
