"""`ragcore eval retrieval` / `compare` on a tiny BEIR-layout dataset with the real embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragcore import IndexConfig
from ragcore.cli import main

pytestmark = pytest.mark.slow

DOCS = {
    "d1": ("Gateway ports", "The gateway listens on port 9000 and its admin API on 9001."),
    "d2": ("Password reset", "Reset links expire after 30 minutes; request a new one."),
    "d3": ("Backups", "lumenctl backup create keeps the seven most recent backups."),
    "d4": ("Pricing", "The Pro plan costs eight dollars per user per month."),
}
QUERIES = {
    "q1": "which port does the gateway use",
    "q2": "how long is a reset link valid",
    "q3": "how many backups are kept",
    "q4": "what does the Pro plan cost",
}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "mini"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n" for d, (t, x) in DOCS.items())
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": x}) + "\n" for q, x in QUERIES.items())
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(1, 5))
    )
    return root


def test_eval_retrieval_json_trec_cache_and_thresholds(
    tmp_path: Path, dataset: Path, capsys
) -> None:
    out, trec, cache = tmp_path / "a.json", tmp_path / "runs", tmp_path / "cache"
    args = ["eval", "retrieval", str(dataset), "--k", "1,3", "--cache", str(cache), "-q"]
    assert (
        main(
            [
                *args,
                "--mode",
                "bm25",
                "--mode",
                "hybrid",
                "--json",
                str(out),
                "--trec-dir",
                str(trec),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["dataset"] == "mini" and result["split"] == "test" and result["n_queries"] == 4
    assert not result["index"]["cached"]
    hybrid = result["runs"]["hybrid"]
    assert set(hybrid["metrics"]) >= {"ndcg@1", "recall@3", "mrr@3", "precision@1", "map@3"}
    assert hybrid["metrics"]["ndcg@3"] == pytest.approx(
        sum(hybrid["per_query"]["ndcg@3"].values()) / 4
    )
    assert hybrid["metrics"]["recall@3"] == 1.0  # 4 docs, each query's answer in the top 3
    low, high = hybrid["ci95"]["mrr@3"]
    assert low <= hybrid["metrics"]["mrr@3"] <= high
    lines = (trec / "hybrid.trec").read_text().splitlines()
    assert lines[0].split()[:2] == ["q1", "Q0"] and lines[0].endswith("ragcore-hybrid")
    assert len(lines) == 4 * 3

    second = tmp_path / "b.json"
    assert main([*args, "--mode", "dense", "--json", str(second)]) == 0
    assert json.loads(second.read_text())["index"]["cached"] is True

    capsys.readouterr()
    assert main([*args, "--mode", "bm25", "--fail-under", "ndcg@1=1.01"]) == 1
    assert "below threshold" in capsys.readouterr().err
    assert main([*args, "--mode", "bm25", "--fail-under", "ndcg@1=0.0"]) == 0

    capsys.readouterr()
    assert main(["eval", "compare", str(out), str(out), "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert cmp["hybrid vs hybrid"]["ndcg@3"]["delta"] == 0.0
    assert cmp["bm25 vs bm25"]["ndcg@3"]["p_value"] == pytest.approx(1.0)
    assert cmp["bm25 vs bm25"]["ndcg@3"]["p_holm"] == pytest.approx(1.0)


def test_eval_bad_arguments(tmp_path: Path, dataset: Path, capsys) -> None:
    base = ["eval", "retrieval", str(dataset), "--cache", str(tmp_path / "c"), "-q"]
    assert main([*base, "--k", "ten"]) == 2
    assert main([*base, "--fail-under", "ndcg@10"]) == 2
    assert main([*base, "--mode", "fuzzy"]) == 2
    assert main([*base, "--split", "dev"]) == 2
    assert main(["eval", "retrieval", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad --k" in err and "METRIC=VALUE" in err and "no qrels for split 'dev'" in err
    assert "Traceback" not in err


def test_eval_rerun_reuses_cached_runs_and_report(tmp_path: Path, dataset: Path, capsys) -> None:
    cache = tmp_path / "cache"
    args = ["eval", "retrieval", str(dataset), "--k", "1,3", "--cache", str(cache), "-q"]
    args += ["--mode", "bm25", "--mode", "dense"]
    cold, warm, fresh = (tmp_path / f"{n}.json" for n in ("cold", "warm", "fresh"))
    assert main([*args, "--json", str(cold)]) == 0
    assert main([*args, "--json", str(warm), "--report", str(tmp_path / "r.html")]) == 0
    assert main([*args, "--json", str(fresh), "--no-cache"]) == 0
    c, w, f = (json.loads(p.read_text()) for p in (cold, warm, fresh))
    assert [r["run_cached"] for r in c["runs"].values()] == [False, False]
    assert [r["run_cached"] for r in w["runs"].values()] == [True, True]
    assert [r["run_cached"] for r in f["runs"].values()] == [False, False]
    for mode in ("bm25", "dense"):
        assert w["runs"][mode]["per_query"] == c["runs"][mode]["per_query"]
        assert f["runs"][mode]["per_query"] == c["runs"][mode]["per_query"]
    curve = c["runs"]["dense"]["recall_curve"]
    assert list(curve) == ["1", "2", "3"]
    assert curve["1"] == c["runs"]["dense"]["metrics"]["recall@1"]
    assert curve["1"] <= curve["2"] <= curve["3"] == 1.0
    assert "runs reused from cache: bm25, dense" in capsys.readouterr().out

    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") == 2  # recall curves + per-query scatter
    assert "<td>bm25</td>" in page and "<td>dense</td>" in page and "paired randomization" in page

    md = tmp_path / "cmp.md"
    assert main(["eval", "report", str(cold), str(fresh), "--out", str(md)]) == 0
    text = md.read_text()
    assert "| cold:bm25 |" in text and "| fresh:dense |" in text
    pngs = sorted((tmp_path / "cmp-files").glob("*.png"))
    assert len(pngs) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    for bad in (
        ["eval", "report", str(cold), "--out", str(tmp_path / "r.pdf")],
        ["eval", "report", str(cold), "--out", str(md), "--metric", "ndcg@50"],
        ["eval", "report", str(cold), "--out", str(md), "--pair", "bm25", "colbert"],
        ["eval", "report", str(tmp_path / "nope.json"), "--out", str(md)],
    ):
        capsys.readouterr()
        assert main(bad) == 2, bad
        err = capsys.readouterr().err
        assert "hint:" in err and "Traceback" not in err


def test_eval_retrieval_builds_the_index_shape_asked_for(
    tmp_path: Path, dataset: Path, capsys
) -> None:
    cache = tmp_path / "cache"
    args = ["eval", "retrieval", str(dataset), "--k", "1", "--cache", str(cache), "-q"]
    small, default = tmp_path / "small.json", tmp_path / "default.json"
    assert main([*args, "--chunk-size", "16", "--chunk-overlap", "2", "--json", str(small)]) == 0
    assert main([*args, "--json", str(default)]) == 0
    s, d = (json.loads(p.read_text())["index"] for p in (small, default))
    assert (s["config"]["chunk_size"], s["config"]["chunk_overlap"]) == (16, 2)
    assert d["config"]["chunk_size"] == IndexConfig().chunk_size
    assert not d["cached"]  # the default shape gets its own cached index
    assert s["path"] != d["path"] and len(list(cache.iterdir())) == 2
    capsys.readouterr()
    assert main([*args, "--chunk-size", "16", "--chunk-overlap", "16"]) == 2
    err = capsys.readouterr().err
    assert "chunk_overlap=16" in err and "Traceback" not in err
