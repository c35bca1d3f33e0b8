"""Importing ragcore and running ``ragcore search`` open no network connection and import no
training, generation, serving or integration library: checked in a fresh interpreter whose
audit hook refuses every non-local socket (as ``unshare -n`` would) and that lists its
modules afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = [
    "torch", "transformers", "peft", "sentence_transformers", "fastapi", "uvicorn", "openai",
    "ragas", "langchain", "langchain_core", "llama_index", "mcp", "matplotlib", "pandas",
    "httpx", "requests", "qdrant_client",
]  # fmt: skip

PROBE = """
import json, socket, sys
def refuse(event, args):
    if event == "socket.connect" and getattr(args[0], "family", None) != socket.AF_UNIX:
        raise OSError(f"network access refused: {args[1]!r}")
    if event == "socket.getaddrinfo":
        raise OSError(f"name lookup refused: {args[0]!r}")
sys.addaudithook(refuse)
import ragcore
code = 0
if len(sys.argv) > 1:
    from ragcore.cli import main
    code = main(sys.argv[1:])
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
print("LOADED " + json.dumps(loaded))
sys.exit(code)
"""


def _probe(*argv: str) -> tuple[int, str, list[str]]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], input=json.dumps(HEAVY), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    line = next(x for x in run.stdout.splitlines()[::-1] if x.startswith("LOADED "))
    return run.returncode, run.stdout + run.stderr, json.loads(line.removeprefix("LOADED "))


def test_the_probe_sees_a_network_call_and_a_heavy_import() -> None:
    code = "import socket; socket.create_connection(('203.0.113.1', 80), timeout=1)"
    run = subprocess.run([sys.executable, "-c", PROBE.replace("import ragcore", code)],
                         input=json.dumps(["json"]), capture_output=True, text=True)  # fmt: skip
    assert run.returncode != 0 and "refused" in run.stderr  # the lookup, before the connect


def test_importing_ragcore_loads_nothing_heavy() -> None:
    code, output, loaded = _probe()
    assert code == 0, output
    assert loaded == []


@pytest.mark.slow
def test_ragcore_search_offline_loads_nothing_heavy(tmp_path: Path, docs_dir: Path) -> None:
    from ragcore import Index

    with Index.open(tmp_path / "idx", create=True) as index:
        index.ingest([docs_dir], quiet=True)
    code, output, loaded = _probe("search", "reset my password", "--index",
                                  str(tmp_path / "idx"), "--json")  # fmt: skip
    assert code == 0, output
    assert '"hits"' in output and "authentication.md" in output
    assert loaded == []
