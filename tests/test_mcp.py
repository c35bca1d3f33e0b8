"""``ragcore mcp`` driven by the official ``mcp`` client: over stdio (a subprocess) and over
streamable HTTP (a real server on 127.0.0.1), with access groups from the server's flags or
the caller's key, never from tool arguments."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tiny_models import tiny_model

from ragcore.server.keys import KeyStore

pytestmark = pytest.mark.slow

QUERY = "how do I reset my password"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import index_public_and_staff

    root = tmp_path_factory.mktemp("mcp")
    index_public_and_staff(root)
    tiny_model(root / "tiny")
    return root


def _command(root: Path, *extra: str) -> list[str]:
    reader = ["--generator", "transformers", "--model", str(root / "tiny")]
    return ["-m", "ragcore.cli", "mcp", "--index", str(root / "idx"), *reader, *extra]


def _payload(result) -> dict:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def _sources(result) -> set[str]:
    return {Path(h["source"]).name for h in _payload(result)["hits"]}


async def _stdio(root: Path, *flags: str) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=_command(root, *flags))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        search = await session.call_tool("search", {"query": QUERY, "k": 5})
        # a caller cannot widen its groups through the arguments: they are not parameters
        sneaky = await session.call_tool("search", {"query": QUERY, "groups": ["staff"]})
        ask = await session.call_tool("ask", {"question": "Which port does the gateway use?"})
        status = await session.call_tool("status", {})
        empty = await session.call_tool("search", {"query": "  "})
    return {"tools": tools, "search": search, "sneaky": sneaky, "ask": ask, "status": status,
            "empty": empty}  # fmt: skip


def test_stdio_tools_search_ask_and_status_with_the_servers_groups(index_dir: Path) -> None:
    got = asyncio.run(_stdio(index_dir, "--group", ""))  # public documents only
    assert {t.name for t in got["tools"].tools} == {"search", "ask", "status"}
    assert all("groups" not in t.input_schema.get("properties", {}) for t in got["tools"].tools)
    hits = _payload(got["search"])["hits"]
    assert hits and {"source", "chunk_id", "span", "text", "heading_path"} <= set(hits[0])
    assert "vault.md" not in _sources(got["search"]) and "authentication.md" in _sources(
        got["search"]
    )
    assert got["sneaky"].is_error or "vault.md" not in _sources(got["sneaky"])
    asked = _payload(got["ask"])
    assert {"answer", "abstained", "citations", "passages"} <= set(asked)
    assert asked["passages"] and all(p["source"].startswith("file://") for p in asked["passages"])
    assert not any(p["source"].endswith("vault.md") for p in asked["passages"])
    assert _payload(got["status"])["documents"] == 3
    assert got["empty"].is_error and "the query is empty" in got["empty"].content[0].text


def test_stdio_without_groups_is_the_owners_view(index_dir: Path) -> None:
    got = asyncio.run(_stdio(index_dir))
    assert "vault.md" in _sources(got["search"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _http(url: str, secret: str) -> set[str]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    client = create_mcp_http_client(headers={"Authorization": f"Bearer {secret}"})
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return _sources(await session.call_tool("search", {"query": QUERY, "k": 5}))


def test_http_transport_takes_the_groups_of_the_callers_key(index_dir: Path) -> None:
    keys = KeyStore(index_dir / "idx")
    _, staff = keys.create("staff-agent", ("staff",), admin=False)
    _, public = keys.create("public-agent", ("",), admin=False)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, *_command(index_dir, "--http", str(port), "--no-ask")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(300):
            try:
                refused = httpx.post(url, json={}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        bad = httpx.post(url, json={}, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert bad.status_code == 401 and "Bearer KEY" in bad.json()["detail"]
        assert "vault.md" in asyncio.run(_http(url, staff))
        seen = asyncio.run(_http(url, public))
        assert seen and "vault.md" not in seen
    finally:
        server.terminate()
        server.wait(timeout=30)
        for name in ("staff-agent", "public-agent"):
            keys.revoke(name)
