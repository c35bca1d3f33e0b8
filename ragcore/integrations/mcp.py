"""ragcore over MCP (extra ``ragcore[mcp]``, the official ``mcp`` package): tools ``search``,
``ask`` and ``status`` for coding assistants and agents, over stdio or streamable HTTP.

The caller's access groups never come from a tool's arguments. Over stdio they are the
server's (``--group``; none given: the index owner's view). Over HTTP, when the index has API
keys (``ragcore serve keys``), every request must carry ``Authorization: Bearer KEY`` and
searches with that key's groups; a missing or unknown key is answered 401 before MCP sees
the request. Results carry each passage's source, chunk id and span, so an assistant can cite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragcore.ask import AskConfig, answer_retrieved, retrieve
from ragcore.errors import ConfigError, RagcoreError
from ragcore.integrations.common import need
from ragcore.server.keys import KeyStore, bearer_secret
from ragcore.types import Answer, Hit

need("mcp", "mcp")  # a clear error naming the extra, before the imports below fail

import anyio  # noqa: E402
from mcp.server.mcpserver import Context, MCPServer  # noqa: E402
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402

if TYPE_CHECKING:
    from ragcore.index import Index

MAX_K = 50
INSTRUCTIONS = (
    "Search and answer from the documents indexed by ragcore. `search` returns ranked "
    "passages with their sources; `ask` returns a short answer citing numbered passages, or "
    "abstains when the documents do not say; `status` describes the index. Cite sources."
)


@dataclass(frozen=True)
class McpOptions:
    """How the MCP server searches and answers: the default groups (stdio, or HTTP without
    keys), the ``ask`` settings and the generator to load on the first ``ask``."""

    groups: tuple[str, ...] | None = None
    ask: AskConfig = field(default_factory=AskConfig)
    load_generator: Callable[[], Any] | None = None  # None: ask is refused


def hit_json(hit: Hit, n: int | None = None) -> dict[str, Any]:
    """A passage as a tool returns it: text and provenance."""
    body = {"rank": hit.rank, "score": round(hit.score, 6), "source": hit.chunk.source,
            "chunk_id": hit.chunk.id, "span": [hit.chunk.start, hit.chunk.end],
            "heading_path": list(hit.chunk.heading_path), "text": hit.chunk.text}  # fmt: skip
    return body if n is None else {"n": n, **body}


def answer_json(answer: Answer) -> dict[str, Any]:
    cited = {c.n for c in answer.citations}
    return {
        "answer": answer.text,
        "abstained": answer.abstained,
        "abstain_reason": None if answer.abstain_reason is None else str(answer.abstain_reason),
        "citations": [c.to_json() for c in answer.citations],
        "passages": [hit_json(h, n) for n, h in enumerate(answer.hits, 1) if n in cited]
        or [hit_json(h, n) for n, h in enumerate(answer.hits, 1)],
    }


class Tools:
    """The tools' work, free of MCP: what the server calls in a worker thread."""

    def __init__(self, index: Index, options: McpOptions) -> None:
        self.index, self.options = index, options
        self._generator: Any = None
        self._loading = threading.Lock()
        self._reading = threading.Lock()  # one generation at a time

    def search(self, query: str, k: int, mode: str | None, groups: Collection[str] | None) -> Any:
        if not query.strip():
            raise ConfigError("the query is empty", "pass a query, e.g. search(query='...')")
        if not 1 <= k <= MAX_K:
            raise ConfigError(f"k={k} is not between 1 and {MAX_K}", "ask for fewer passages")
        result = self.index.search(query, k=k, mode=mode, groups=groups)
        return {"query": query, "mode": result.mode, "hits": [hit_json(h) for h in result.hits]}

    def generator(self) -> Any:
        with self._loading:
            if self._generator is None:
                if self.options.load_generator is None:
                    raise ConfigError("this MCP server has no reader", "start it without --no-ask")
                self._generator = self.options.load_generator()
            return self._generator

    def ask(self, question: str, groups: Collection[str] | None) -> dict[str, Any]:
        retrieval = retrieve(self.index, question, self.options.ask, groups)
        generator = self.generator()
        with self._reading:
            return answer_json(answer_retrieved(retrieval, generator, self.options.ask))

    def status(self) -> dict[str, Any]:
        return self.index.status().to_json()


def bearer_groups(keys: KeyStore, authorization: str) -> tuple[str, ...] | None:
    """The groups of the key in an ``Authorization`` header; ConfigError if it is not one."""
    secret = bearer_secret(authorization)
    key = keys.lookup(secret) if secret is not None else None
    if key is None:
        raise ConfigError(
            "send Authorization: Bearer KEY with a key of this index",
            "create one with: ragcore keys create --name NAME --group GROUP",
        )
    return key.groups


def build_server(index: Index, options: McpOptions, keys: KeyStore | None = None) -> Any:
    """The ``MCPServer`` with the three tools. ``keys``: the index's API keys, checked per
    request over HTTP (None over stdio)."""
    tools = Tools(index, options)
    server = MCPServer("ragcore", instructions=INSTRUCTIONS)

    def groups_for(ctx: Context) -> tuple[str, ...] | None:
        request = getattr(ctx.request_context, "request", None)
        if keys is None or request is None or not keys.keys():
            return options.groups
        return bearer_groups(keys, request.headers.get("authorization", ""))

    async def work(fn: Callable[[], Any]) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn)
        except RagcoreError as exc:
            hint = f" (hint: {exc.hint})" if exc.hint else ""
            raise ToolError(f"{exc.message}{hint}") from None

    @server.tool(description="Ranked passages for a query, with their sources and spans.")
    async def search(query: str, ctx: Context, k: int = 5, mode: str | None = None) -> dict:
        groups = groups_for(ctx)
        return await work(lambda: tools.search(query, k, mode, groups))

    @server.tool(
        description="A short answer from the documents, citing numbered passages, or an "
        "abstention when they do not say."
    )
    async def ask(question: str, ctx: Context) -> dict:
        groups = groups_for(ctx)
        return await work(lambda: tools.ask(question, groups))

    @server.tool(description="The index: documents, chunks, embedder, last sync.")
    async def status() -> dict:
        return await work(tools.status)

    return server


def http_app(server: Any, keys: KeyStore, host: str) -> Any:
    """The streamable HTTP app, behind a check that answers 401 to a request without a valid
    key when the index has keys."""
    from starlette.responses import JSONResponse

    app = server.streamable_http_app(host=host)

    async def guarded(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and keys.keys():
            headers = dict(scope.get("headers") or [])
            try:
                bearer_groups(keys, headers.get(b"authorization", b"").decode("latin-1"))
            except ConfigError as exc:
                refusal = JSONResponse({"detail": exc.message}, status_code=401,
                                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
                await refusal(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded
