"""The command line, run in-process: JSON contracts, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragcore.cli import main

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ingest_search_status_json(tmp_path: Path, docs_dir: Path, capsys) -> None:
    idx = str(tmp_path / "idx")
    code, out, _ = run(capsys, "ingest", str(docs_dir), "--index", idx, "--json")
    assert code == 0 and json.loads(out)["added"] == 3

    code, out, _ = run(capsys, "search", "gateway port", "--index", idx, "--json", "-k", "4")
    data = json.loads(out)
    assert code == 0 and data["query"] == "gateway port" and data["mode"] == "hybrid"
    assert len(data["hits"]) == 4
    hit = data["hits"][0]
    assert set(hit) >= {"rank", "score", "chunk_id", "doc_id", "source", "text", "scores"}
    assert hit["rank"] == 1 and hit["source"].endswith("gateway.md")

    code, out, _ = run(
        capsys,
        "search",
        "gateway",
        "--index",
        idx,
        "--json",
        "--mode",
        "bm25",
        "--filter",
        "path=faq.txt",
    )
    assert code == 0 and {h["source"].rsplit("/", 1)[1] for h in json.loads(out)["hits"]} == {
        "faq.txt"
    }

    code, out, _ = run(capsys, "status", "--index", idx, "--json")
    status = json.loads(out)
    assert code == 0 and status["documents"] == 3 and status["chunks"] == status["points"] > 0

    code, out, _ = run(capsys, "search", "gateway port", "--index", idx)
    assert code == 0 and "gateway.md" in out and "hybrid" in out


def test_ingest_with_bad_files_exits_1_and_lists_them(
    tmp_path: Path, docs_dir: Path, capsys
) -> None:
    (docs_dir / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    code, out, err = run(capsys, "ingest", str(docs_dir), "--index", str(tmp_path / "i"), "-q")
    assert code == 1
    assert "bad.pdf" in err and "corrupt" in err and "add 3" in out


def test_errors_are_one_clear_message(tmp_path: Path, docs_dir: Path, capsys) -> None:
    code, _, err = run(capsys, "search", "x", "--index", str(tmp_path / "none"))
    assert code == 2 and "no index at" in err and "hint:" in err and "Traceback" not in err
    code, _, err = run(capsys, "ingest", str(tmp_path / "missing"), "--index", str(tmp_path / "i"))
    assert code == 2 and "no such file or directory" in err
    assert not (tmp_path / "i").exists(), "a failed ingest must not create an index"
    run(capsys, "ingest", str(docs_dir), "--index", str(tmp_path / "i"), "-q")
    code, _, err = run(capsys, "search", "x", "--index", str(tmp_path / "i"), "--mode", "fuzzy")
    assert code == 2 and "invalid mode" in err
    code, _, err = run(capsys, "search", "x", "--index", str(tmp_path / "i"), "--filter", "nokey")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = run(
        capsys, "ingest", str(docs_dir), "--index", str(tmp_path / "i"), "--chunk-size", "64"
    )
    assert code == 2 and "--rebuild" in err
    config = tmp_path / "ragcore.toml"
    config.write_text("[search]\nmode = 3\n[unknown]\n")
    code, _, err = run(capsys, "status", "--config", str(config), "--index", str(tmp_path / "i"))
    assert code == 2 and "unknown keys" in err


def test_toml_config_sets_defaults(tmp_path: Path, docs_dir: Path, capsys) -> None:
    config = tmp_path / "ragcore.toml"
    config.write_text(f'index_dir = "{tmp_path / "cfgidx"}"\n[search]\nmode = "bm25"\n')
    assert run(capsys, "ingest", str(docs_dir), "--config", str(config), "-q")[0] == 0
    code, out, _ = run(capsys, "search", "gateway", "--config", str(config), "--json")
    assert code == 0 and json.loads(out)["mode"] == "bm25"
    code, out, _ = run(
        capsys, "search", "gateway", "--config", str(config), "--json", "--mode", "dense"
    )
    assert json.loads(out)["mode"] == "dense"


def test_plugins_lists_entry_points(capsys) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    names = {(p["group"], p["name"]) for p in json.loads(out)}
    assert code == 0
    assert ("ragcore.connectors", "filesystem") in names
    assert ("ragcore.embedders", "bge-small-en-v1.5") in names
    assert ("ragcore.embedders", "all-MiniLM-L6-v2") in names
    assert ("ragcore.rerankers", "ms-marco-MiniLM-L-12-v2") in names


@pytest.mark.slow
def test_demo_searches_and_answers(tmp_path: Path, capsys) -> None:
    from ragcore.cli.ask import DEMO_ASK

    code, out, _ = run(capsys, "demo", "--index", str(tmp_path / "demo"), "--json")
    data = json.loads(out)
    assert code == 0 and data["ingest"]["added"] == 10
    assert data["results"][1]["hits"][0]["source"].endswith("gateway.md")
    answers = data["answers"]  # the default reader (the span reader) over the demo index
    assert [a["question"] for a in answers] == list(DEMO_ASK)
    assert answers[-1]["abstained"]  # not in the demo docs
    # at least two of the three questions the docs answer get what their docs say (the span
    # reader answers the Pro price with Enterprise's "$18": docs/reader.md records it)
    golds = ["9001", "$8", "30 minutes"]
    right = [g in (a["answer"] or "") for a, g in zip(answers[:-1], golds, strict=True)]
    assert sum(right) >= 2
    for a in answers:
        assert a["abstained"] == (a["answer"] is None) and len(a["hits"]) == 3
        if not a["abstained"]:  # an answer is copied from the passage it cites
            (cited,) = a["citations"]
            assert a["answer"] in a["hits"][cited["n"] - 1]["text"]


def test_errors_print_brackets_verbatim(monkeypatch, capsys) -> None:
    from ragcore.cli import commands as cli
    from ragcore.errors import PluginError

    def broken(_args) -> int:
        raise PluginError("the [reader] is missing", "pip install 'ragcore[generate]'")

    monkeypatch.setitem(cli.COMMANDS, "status", broken)
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "the [reader] is missing" in err and "pip install 'ragcore[generate]'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "  "], "the query is empty"),
        (["search", "port", "-k", "100000"], "-k 100000 is not in 1..1000"),
        (["search", "port", "-k", "0"], "-k 0 is not in 1..1000"),
        (["status", "--index", "{file}"], "is a file, not an index directory"),
        (["search", "port", "--index", "{file}"], "is a file, not an index directory"),
        (["ingest", "{docs}", "--index", "{file}"], "is a file, not an index directory"),
        (["status", "--config", "{toml}"], "index_dir = 42 is not a folder path"),
    ],
)
def test_bad_input_is_a_clear_error(argv: list[str], message: str, tmp_path: Path, capsys) -> None:
    (tmp_path / "afile").write_text("not an index")
    (tmp_path / "bad.toml").write_text("index_dir = 42\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nThe gateway listens on port 9000.\n")
    where = {"file": tmp_path / "afile", "toml": tmp_path / "bad.toml", "docs": tmp_path / "docs"}
    code, _, err = run(capsys, *(a.format(**where) for a in argv))
    assert code == 2 and message in err and "Traceback" not in err
    assert (tmp_path / "afile").read_text() == "not an index"  # nothing touched


def test_an_ingest_killed_before_its_config_is_resumed(
    tmp_path: Path, docs_dir: Path, capsys
) -> None:
    from ragcore.index_folder import LEDGER_FILE

    for flags in ([], ["--rebuild"]):
        index = tmp_path / f"idx{len(flags)}"
        (index / "shard" / "segments").mkdir(parents=True)  # what a kill in the first second
        (index / LEDGER_FILE).write_bytes(b"")  # leaves: no ragcore.json yet
        code, _, err = run(capsys, "ingest", str(docs_dir), "--index", str(index), "-q", *flags)
        assert code == 0, err
        code, out, _ = run(capsys, "status", "--index", str(index), "--json")
        assert code == 0 and json.loads(out)["documents"] == 3
    other = tmp_path / "not-an-index"
    (other / "shard").mkdir(parents=True)
    (other / "notes.txt").write_text("mine")  # a folder of someone else's files is refused
    code, _, err = run(capsys, "ingest", str(docs_dir), "--index", str(other), "-q")
    assert code == 2 and "is not a ragcore index" in err and (other / "notes.txt").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dense-weight", "nan"], "dense_weight = nan is not a finite number >= 0"),
        (["--fusion", "rrf", "--sparse-weight", "-1"], "sparse_weight = -1.0 is not a finite"),
        (["--rerank-max-tokens", "0"], "rerank_max_tokens = 0 leaves the cross-encoder no text"),
        (["--filter", "file_type="], "bad --filter 'file_type='"),
    ],
)
def test_bad_search_settings_are_refused(flags: list[str], message: str, capsys) -> None:
    code, _, err = run(capsys, "search", "port", *flags)
    assert code == 2 and message in err
