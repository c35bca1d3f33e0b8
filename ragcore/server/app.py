"""The FastAPI app of ``ragcore serve``: one open index, models loaded once, keys checked on
every request, access groups applied on the server side."""

import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragcore.ask import check_question
from ragcore.errors import (
    ConfigError,
    RagcoreError,
)
from ragcore.server.chat import add_chat_routes
from ragcore.server.keys import ApiKey, bearer_secret, groups_of
from ragcore.server.service import MAX_K, MAX_QUESTION, STATUS, ServeConfig, Service, sse, streamed


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=MAX_QUESTION)
    k: int = Field(10, ge=1, le=MAX_K)
    mode: str | None = None
    filters: dict[str, Any] = {}  # Filter.parse checks it: a bad one is a 400 naming it


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    stream: bool = False


class Observe:
    """Plain ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per
    request): refuses bodies over the limit with 413, and times every request per route."""

    def __init__(self, app: Any, service: Service, max_body: int) -> None:
        self.app, self.service, self.max_body = app, service, max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        size = dict(scope["headers"]).get(b"content-length", b"0")
        try:
            if not size.isdigit() or int(size) > self.max_body:
                detail = f"the body is over [serve] max_body_kb = {self.max_body // 1024}"
                await JSONResponse({"detail": detail}, status_code=413)(scope, receive, sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.service.metrics.observe(scope["method"], path, status[0],
                                         time.perf_counter() - t0)  # fmt: skip


def create_app(config: ServeConfig, service: Service | None = None) -> FastAPI:
    service = service or Service(config)
    app = FastAPI(title="ragcore", version="1", description=__doc__)
    app.state.service = service

    @app.exception_handler(RagcoreError)
    async def _ragcore_error(_: Request, exc: RagcoreError) -> JSONResponse:
        body = {"detail": exc.message, "hint": exc.hint}
        return JSONResponse(body, status_code=STATUS.get(type(exc), 500))

    limits = config.settings.serve
    if limits.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(limits.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["*"])  # fmt: skip
    app.add_middleware(Observe, service=service, max_body=limits.max_body_kb * 1024)
    caller, admin = _auth(service)
    _ops_routes(app, service)
    _v1_routes(app, service, caller, admin)
    add_chat_routes(app, service, caller)
    return app


def _auth(service: Service) -> tuple[Any, Any]:
    """The dependencies that give a route its caller's key, and an admin's."""

    async def caller(request: Request) -> ApiKey | None:
        """The request's key (None when the server has no keys: loopback, owner's view).
        Async, so that it runs on the event loop and costs no thread hop (measured)."""
        if not service.keys.keys():
            return None
        secret = bearer_secret(request.headers.get("authorization", ""))
        challenge = {"WWW-Authenticate": "Bearer"}
        if secret is None:
            raise HTTPException(401, "send Authorization: Bearer KEY", headers=challenge)
        key = service.keys.lookup(secret)
        if key is None:
            raise HTTPException(401, "unknown or revoked key", headers=challenge)
        return key

    Caller = Annotated[ApiKey | None, Depends(caller)]

    async def admin(key: Caller) -> ApiKey | None:
        if key is not None and not key.admin:
            raise HTTPException(403, f"key {key.name!r} is not an admin key")
        return key

    return Caller, Annotated[ApiKey | None, Depends(admin)]


def _ops_routes(app: FastAPI, service: Service) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        ready = service.ready.is_set()
        body = {"ready": ready, "reader": service.generator is not None,
                "reader_error": service.load_error}  # fmt: skip
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        documents, chunks = service.index.ledger.counts()
        return service.metrics.render(documents, chunks)

    page = Path(str(files("ragcore.server") / "static" / "index.html"))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def chat_page() -> str:
        return page.read_text(encoding="utf-8")


def _v1_routes(app: FastAPI, service: Service, Caller: Any, Admin: Any) -> None:
    @app.get("/v1/status")
    def status(_: Caller) -> dict[str, Any]:
        return service.index.status().to_json() | {"ready": service.ready.is_set()}

    @app.post("/v1/search", response_model=None)
    def search(req: SearchRequest, key: Caller) -> JSONResponse:
        if not req.query.strip():
            raise ConfigError("the query is empty", 'send {"query": "..."}')
        result = service.index.search(
            req.query, k=req.k, mode=req.mode, filters=req.filters or None, groups=groups_of(key)
        )
        # a Response, so FastAPI does not validate a body it did not build (measured)
        return JSONResponse(result.to_json())

    @app.post("/v1/ask", response_model=None)
    def ask(req: AskRequest, key: Caller) -> Any:
        check_question(req.question)
        groups = groups_of(key)
        if not req.stream:
            return service.answer(req.question, groups).to_json()

        def events() -> Iterator[str]:
            work = lambda on_token: service.answer(req.question, groups, on_token)  # noqa: E731
            for kind, value in streamed(work):
                yield sse(kind, {"text": value} if kind == "token" else
                          value.to_json() if kind == "final" else value)  # fmt: skip

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/sync", status_code=202)
    def sync(_: Admin) -> dict[str, Any]:
        return service.start_sync()

    @app.get("/v1/jobs/{job_id}")
    def job(job_id: str, _: Admin) -> dict[str, Any]:
        if job_id not in service.jobs:
            raise HTTPException(404, f"no job {job_id}")
        return service.jobs[job_id]
