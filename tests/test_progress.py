"""Progress where nobody watches a terminal: plain lines on stderr, silenced by quiet."""

from __future__ import annotations

import pytest

from ragcore.progress import Progress


def test_lines_on_a_log_file(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(interval=0) as progress:  # capsys: stderr is not a terminal
        reading = progress.task("reading", total=3)
        embedding = progress.task("embedding chunks", total=0)
        progress.advance(reading)
        progress.update(embedding, total=10)
        progress.advance(embedding, 4)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == ""  # stdout is the command's result
    assert lines[0].startswith("reading 1/3; embedding chunks 0 (")
    assert lines[-1].startswith("reading 1/3; embedding chunks 4/10 (")


def test_lines_are_spaced_and_quiet_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(interval=3600) as progress:
        task = progress.task("reading", total=100)
        for _ in range(100):
            progress.advance(task)
    assert capsys.readouterr().err.splitlines() == ["reading 100/100 (0 s)"]  # the final one
    with Progress(quiet=True) as progress:
        progress.advance(progress.task("reading", total=1))
    assert capsys.readouterr() == ("", "")
