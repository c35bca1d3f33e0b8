"""Hostile inputs for ``benchmarks/faults.py inputs``: bad flags and config files against a
built index, and a folder of hostile files ingested beside good ones.

A bad input is handled cleanly when the command prints no traceback, exits non-zero with an
``error:`` line (or succeeds where the input is merely odd), and the index afterwards holds
exactly what it held before.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragcore import Index

RAGCORE = str(Path(sys.executable).parent / "ragcore")
DEMO = Path(str(files("ragcore") / "demo_docs"))
out = Console()

# (what, argv after `ragcore`, ragcore.toml text or None, exit codes that count as clean)
# fmt: off
FLAGS: list[tuple[str, list[str], str | None, tuple[int, ...]]] = [
    ("empty query", ["search", ""], None, (2,)),
    ("blank query", ["search", "   "], None, (2,)),
    ("-k 0", ["search", "port", "-k", "0"], None, (2,)),
    ("-k -5", ["search", "port", "-k", "-5"], None, (2,)),
    ("-k 100000", ["search", "port", "-k", "100000"], None, (2,)),
    ("-k abc", ["search", "port", "-k", "abc"], None, (2,)),
    ("--mode nonsense", ["search", "port", "--mode", "nonsense"], None, (2,)),
    ("--mode bm25+foo", ["search", "port", "--mode", "bm25+foo"], None, (2,)),
    ("--dense-weight nan", ["search", "port", "--dense-weight", "nan"], None, (2,)),
    ("--dense-weight -1", ["search", "port", "--dense-weight", "-1"], None, (2,)),
    (
        "--rerank-max-tokens 0",
        ["search", "port", "--mode", "hybrid+rerank", "--rerank-max-tokens", "0"],
        None,
        (2,),
    ),
    ("--rrf-k 0", ["search", "port", "--rrf-k", "0"], None, (2,)),
    ("--prefetch 0", ["search", "port", "--prefetch", "0"], None, (2,)),
    (
        "--rerank-depth 0",
        ["search", "port", "--mode", "hybrid+rerank", "--rerank-depth", "0"],
        None,
        (2,),
    ),
    ("--fusion bad", ["search", "port", "--fusion", "bad"], None, (2,)),
    ("--filter k=", ["search", "port", "--filter", "k="], None, (2,)),
    ("--filter without =", ["search", "port", "--filter", "nokey"], None, (2,)),
    ("--filter unknown key", ["search", "port", "--filter", "colour=red"], None, (2,)),
    ("100k-character query", ["search", "port " * 20_000], None, (0, 2)),
    ("--index missing", ["search", "port", "--index", "/nonexistent/idx"], None, (2,)),
    ("--index a file", ["search", "port", "--index", "/etc/hostname"], None, (2,)),
    ("status --index a file", ["status", "--index", "/etc/hostname"], None, (2,)),
    ("check --index missing", ["check", "--index", "/nonexistent/idx"], None, (2,)),
    ("ingest a missing path", ["ingest", "/nonexistent/docs"], None, (2,)),
    ("--chunk-size 5", ["ingest", "DOCS", "--chunk-size", "5"], None, (2,)),
    ("--chunk-overlap 500", ["ingest", "DOCS", "--chunk-overlap", "500"], None, (2,)),
    (
        "--chunk-size 128 on an index of 256",
        ["ingest", "DOCS", "--chunk-size", "128"],
        None,
        (2,),
    ),
    ("--embedder nope", ["ingest", "DOCS", "--embedder", "nope"], None, (2,)),
    ("--connector nope", ["ingest", "DOCS", "--connector", "nope"], None, (2,)),
    ("-o without =", ["ingest", "DOCS", "-o", "bad"], None, (2,)),
    ("-o max_file_mb=lots", ["ingest", "DOCS", "-o", "max_file_mb=lots"], None, (2,)),
    ("--access with --public", ["ingest", "DOCS", "--access", "staff", "--public"], None, (2,)),
    ("unreachable URL", ["ingest", "http://127.0.0.1:9/"], None, (1, 2)),
    ("missing SQLite database", ["ingest", "sqlite:////nonexistent/x.db"], None, (1, 2)),
    ("ask an empty question", ["ask", ""], None, (2,)),
    ("eval a missing file", ["eval", "diagnose", "/nonexistent/gold.jsonl"], None, (2,)),
    ("--config missing", ["status", "--config", "/nonexistent/ragcore.toml"], None, (2,)),
    ("sync without [[sources]]", ["sync"], "", (2,)),
    ("index_dir = 42", ["status"], "index_dir = 42\n", (2,)),
    ("invalid TOML", ["status"], "[search\nmode = \n", (2,)),
    ("unknown top-level key", ["status"], "colour = 'red'\n", (2,)),
    ("unknown [search] key", ["status"], "[search]\ncolour = 'red'\n", (2,)),
    ("[search] mode = nope", ["search", "port"], "[search]\nmode = 'nope'\n", (2,)),
    ("[search] rerank = 'false'", ["search", "port"], "[search]\nrerank = 'false'\n", (2,)),
    ("[index] chunk_size = 'big'", ["ingest", "DOCS"], "[index]\nchunk_size = 'big'\n", (2,)),
    ("index = 5", ["status"], "index = 5\n", (2,)),
    ("[store] lock_wait_s = -1", ["status"], "[store]\nlock_wait_s = -1\n", (2,)),
    ("[[sources]] without uri", ["sync"], "[[sources]]\naccess = ['staff']\n", (2,)),
    ("binary ragcore.toml", ["status"], "\x00\x89PNG binary", (2,)),
]
# fmt: on


def _flags(root: Path, idx: Path, docs: Path) -> tuple[int, int]:
    table = Table(title="bad flags and config files")
    for col in ("input", "rc", "clean", "first line"):
        table.add_column(col)
    clean = 0
    for what, argv, toml, ok_codes in FLAGS:
        cwd = root / "cwd"
        shutil.rmtree(cwd, ignore_errors=True)
        cwd.mkdir()
        if toml is not None:
            (cwd / "ragcore.toml").write_bytes(toml.encode("latin-1"))
        args = [str(docs) if a == "DOCS" else a for a in argv]
        if "--index" not in args and args[0] not in ("eval",):
            args += ["--index", str(idx)]
        p = subprocess.run([RAGCORE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
        text = p.stderr + p.stdout
        good = "Traceback" not in text and p.returncode in ok_codes
        said = ("error:", "usage:", "skipped")  # the reason, in ragcore's words
        good = good and (p.returncode == 0 or any(word in text for word in said))
        clean += good
        line = next((ln for ln in p.stderr.splitlines() if ln.strip()), "")
        table.add_row(escape(what), str(p.returncode), str(good), escape(line[:90]))
    out.print(table)
    return len(FLAGS), clean


def _bomb_docx(path: Path) -> None:
    laughs = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)
    ) + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">' \
        "<w:body><w:p><w:r><w:t>&a9;</w:t></w:r></w:p></w:body></w:document>"  # fmt: skip
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", laughs)


def _hostile(folder: Path) -> dict[str, str]:
    """Bad files (name: kind) beside the demo docs."""
    rng = random.Random(3)
    noise = bytes(rng.randrange(1, 256) for _ in range(65536))
    writes: dict[str, bytes] = {
        "random-bytes.txt": noise,
        "png-named.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise[:4000],
        "empty.md": b"",
        "whitespace.txt": b" \n\t\n" * 100,
        "one-line-5mb.txt": b"word " * 1_000_000,
        "big-50mb.txt": b"word " * 10_000_000,
        "not-a-zip.docx": b"PK\x03\x04 truncated",
        "not-a-pdf.pdf": b"%PDF-1.4 garbage",
        "deep.html": b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000,
        "utf16.txt": "Schlüssel läuft ab.\n".encode("utf-16") * 50,
        os.fsdecode(b"caf\xe9.md"): b"# Cafe\n\nnot a UTF-8 name\n",
        "new\nline name.md": b"# Newline\n\nin the name\n",
        ("x" * 200) + ".md": b"# Long name\n",
    }
    for name, data in writes.items():
        (folder / name).write_bytes(data)
    _bomb_docx(folder / "laughs.docx")
    os.mkfifo(folder / "fifo.md")
    (folder / "zero.md").symlink_to("/dev/zero")
    (folder / "urandom.txt").symlink_to("/dev/urandom")
    (folder / "broken.md").symlink_to(folder / "missing.md")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "dir.md").mkdir()
    deep = folder.joinpath(*[f"d{i}" for i in range(40)])
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text("# Deep\n\nforty folders down\n")
    with zipfile.ZipFile(folder / "zip-bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<" + b"a" * 200_000_000 + b"/>")
    return {name: "file" for name in [*writes, "laughs.docx", "zip-bomb.docx", "fifo.md",
            "zero.md", "urandom.txt", "broken.md", "loop.md", "dir.md", "d39/deep.md"]}  # fmt: skip


def _files(root: Path) -> tuple[int, int, float, float]:
    folder = root / "hostile"
    shutil.copytree(DEMO, folder)
    kinds = _hostile(folder)
    t0 = time.perf_counter()
    p = subprocess.run([RAGCORE, "ingest", str(folder), "--index", str(root / "hostile-idx"),
                        "--json"], capture_output=True, text=True, timeout=1800)  # fmt: skip
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    clean = "Traceback" not in p.stderr and p.returncode in (0, 1)
    with Index.open(root / "hostile-idx") as index:
        sources = {c.source for c in index.chunks()}
    demo = {(folder / f.name).as_uri() for f in DEMO.iterdir()}
    out.print(f"hostile folder: rc {p.returncode}, {len(kinds)} hostile entries beside "
              f"{len(demo)} good files; good ones indexed: {len(demo & sources)}/{len(demo)}; "
              f"no traceback: {clean}; {seconds:.0f} s; peak RSS {peak:.0f} MB")  # fmt: skip
    for line in p.stderr.splitlines()[-40:]:
        out.print("  " + line[:150], highlight=False, markup=False)
    return len(kinds), len(kinds) if clean and demo <= sources else 0, seconds, peak


def inputs(root: Path) -> None:
    docs, idx = root / "docs", root / "idx"
    shutil.copytree(DEMO, docs)
    subprocess.run([RAGCORE, "ingest", str(docs), "--index", str(idx), "-q"], check=True,
                   capture_output=True)  # fmt: skip
    with Index.open(idx) as index:
        before = sorted((c.id, c.text) for c in index.chunks())
    tried, clean = _flags(root, idx, docs)
    with Index.open(idx) as index:
        intact = sorted((c.id, c.text) for c in index.chunks()) == before
    out.print(f"bad flags and config files: tried {tried}, handled cleanly {clean}; "
              f"index unchanged: {intact}")  # fmt: skip
    n, ok, _, _ = _files(root)
    out.print(f"hostile files: {n} kinds, handled cleanly {ok}")
