"""Encodings detected, non-text refused by content, and any file name the OS gives."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from ragcore.connectors.text_decoding import decode_text, detect_encoding

from ragcore import Index
from ragcore.cli import main
from ragcore.errors import SourceError

WESTERN = "Der Schlüssel läuft nach 30 Tagen ab — café, naïve, 5 €.\n" * 20
CJK = "数据库连接配置说明。网关监听端口九千零一。\n" * 30


@pytest.mark.parametrize(
    ("text", "encoding", "detected"),
    [
        (WESTERN, "utf-8", "utf-8"),
        (WESTERN, "utf-8-sig", "utf-8-sig"),
        (WESTERN, "utf-16", "utf-16-le"),  # Python writes a little-endian BOM
        (WESTERN, "utf-16-le", "utf-16-le"),
        (WESTERN, "utf-16-be", "utf-16-be"),
        (WESTERN, "utf-32", "utf-32-le"),
        (WESTERN, "cp1252", "cp1252"),
        (CJK, "utf-8", "utf-8"),
        (CJK, "utf-16", "utf-16-le"),
    ],
)
def test_encodings_are_detected(text: str, encoding: str, detected: str) -> None:
    data = text.encode(encoding)
    assert detect_encoding(data) == detected
    assert decode_text(data) == text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_of_other_scripts_without_a_mark(encoding: str) -> None:
    assert decode_text(CJK.encode(encoding)) == CJK


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_not_text(seed: int) -> None:
    rng = random.Random(seed)
    no_nul = bytes(rng.randrange(1, 256) for _ in range(65536))
    with pytest.raises(SourceError, match="not text"):
        decode_text(no_nul)
    with pytest.raises(SourceError, match="NUL"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + no_nul[:1000])


def test_a_utf8_character_cut_at_the_sample_end_is_still_utf8() -> None:
    data = ("é" * 40_000).encode()  # 80,000 bytes: the 65,536-byte sample ends mid-way
    assert detect_encoding(data) == "utf-8" and decode_text(data) == "é" * 40_000


@pytest.mark.slow
def test_encoded_files_and_odd_names_are_indexed(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    files = {
        "bom16.txt": ("utf-16", "alphaword"),
        "plain16.md": ("utf-16-le", "betaword"),
        "big16.md": ("utf-16-be", "gammaword"),
        "wide32.txt": ("utf-32", "deltaword"),
        "legacy.txt": ("cp1252", "epsilonword"),
    }
    for name, (encoding, word) in files.items():
        (docs / name).write_bytes(f"{WESTERN}The marker is {word}.\n".encode(encoding))
    odd = os.fsdecode(b"caf\xe9-notes.md")  # not UTF-8: Latin-1 bytes in the name
    (docs / odd).write_text("# Notes\n\nThe marker is zetaword.\n")
    rng = random.Random(7)
    (docs / "noise.txt").write_bytes(bytes(rng.randrange(1, 256) for _ in range(65536)))
    idx = tmp_path / "idx"
    assert main(["ingest", str(docs), "--index", str(idx), "-q", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == len(files) + 1
    assert [Path(s["source"]).name for s in report["skipped"]] == ["noise.txt"]
    assert "not text" in report["skipped"][0]["reason"]
    with Index.open(idx) as index:
        texts = " ".join(c.text for c in index.chunks())
        for _, word in files.values():
            assert f"The marker is {word}." in texts
        assert "Schlüssel läuft" in texts and "zetaword" in texts
        hit = index.search("zetaword", mode="bm25", k=1).hits[0]
        assert hit.chunk.source.endswith("caf%E9-notes.md")
