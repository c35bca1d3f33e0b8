"""One bad file never stops an ingest: FIFOs, devices, symlinks to them, broken and looping
links, oversized files and text, and a billion-laughs .docx are skipped with their reasons,
and the good files beside them are indexed."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ragcore.connectors.filesystem import path_from_uri

from ragcore.cli import main
from ragcore.errors import ConfigError

pytestmark = pytest.mark.slow

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)
    )
    + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
)


def _bomb_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        z.writestr("word/document.xml", LAUGHS)


def _hostile(folder: Path) -> dict[str, str]:
    """Bad files by name, with a word their skip reason must hold."""
    folder.mkdir()
    (folder / "good.md").write_text("# Gateway\n\nThe gateway listens on port 9000.\n")
    (folder / "also-good.txt").write_text("Reset links expire after 30 minutes.\n")
    os.mkfifo(folder / "pipe.md")
    (folder / "zero.md").symlink_to("/dev/zero")
    (folder / "random.txt").symlink_to("/dev/urandom")
    (folder / "broken.md").symlink_to(folder / "missing.md")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "big.txt").write_text("word " * 60_000)  # 300 KB, over the 0.2 MB limit below
    (folder / "long-text.md").write_text("# Notes\n\n" + "line of notes\n" * 9_000)  # 126 KB
    _bomb_docx(folder / "laughs.docx")
    (folder / "not-a-zip.docx").write_bytes(b"PK\x03\x04 truncated")
    rng = random.Random(5)
    noise = bytes(rng.randrange(1, 256) for _ in range(65536))
    (folder / "noise.txt").write_bytes(noise)  # no NUL byte, still not text
    (folder / "repeated.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\xa0" * 2000)
    (folder / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise[:2000])
    (folder / "empty.md").write_bytes(b"")
    (folder / "blank.txt").write_text(" \n\t\n" * 100)
    (folder / "not-a-pdf.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "folder.md").mkdir()  # a folder with a document's name is walked, not read
    for name in ("new\nline.md", "x" * 200 + ".md", "spaced  name.md"):
        (folder / name).write_text(f"# Odd name\n\nThe page {len(name)} says port 9000.\n")
    deep = folder.joinpath(*[f"d{i}" for i in range(40)])
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text("# Deep\n\nForty folders down the gateway port is 9000.\n")
    return {
        "pipe.md": "FIFO",
        "zero.md": "character device",
        "random.txt": "character device",
        "broken.md": "unreadable",
        "loop.md": "unreadable",
        "big.txt": "max_file_mb",
        "long-text.md": "max_text_mb",
        "laughs.docx": "cannot read this docx",
        "not-a-zip.docx": "corrupt or unreadable DOCX",
        "noise.txt": "not text",
        "image.md": "NUL bytes",
        "repeated.md": "NUL bytes",
        "empty.md": "empty document",
        "blank.txt": "empty document",
        "not-a-pdf.pdf": "corrupt or unreadable PDF",
    }


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(tmp_path: Path, capsys) -> None:
    bad = _hostile(tmp_path / "docs")
    index = str(tmp_path / "idx")
    options = ["-o", "max_file_mb=0.2", "-o", "max_text_mb=0.1"]
    code = main(["ingest", str(tmp_path / "docs"), "--index", index, *options, "-q", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # some sources skipped
    reasons = {path_from_uri(s["source"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == set(bad), reasons
    for name, word in bad.items():
        assert word in reasons[name], (name, reasons[name])
    good = {"good.md", "also-good.txt", "new\nline.md", "x" * 200 + ".md", "spaced  name.md",
            "deep.md"}  # fmt: skip
    assert report["added"] == len(good)
    assert main(["search", "gateway port", "--index", index, "--json", "-k", "20"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert {path_from_uri(h["source"]).name for h in hits} == good


def test_limits_are_validated() -> None:
    from ragcore.connectors.filesystem import FilesystemConnector

    for bad in ("0", "-1", "lots", "nan"):
        with pytest.raises(ConfigError, match="max_file_mb"):
            FilesystemConnector(".", max_file_mb=bad)


def test_a_corrupt_pdf_is_skipped_and_its_parser_logs_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Gateway\n\nThe gateway listens on port 9000.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")  # pypdf logs "EOF marker not found"
    ragcore = str(Path(sys.executable).parent / "ragcore")  # a process of its own: no pytest
    done = subprocess.run(  # logging handlers
        [ragcore, "ingest", str(docs), "--index", str(tmp_path / "idx"), "-q"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    err = done.stderr
    assert "broken.pdf: corrupt or unreadable PDF" in err
    assert "EOF marker" not in err
