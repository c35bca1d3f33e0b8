"""Serving-shaped training data from an index, the deployment calibration (worked by hand),
and ``adapters tune`` end to end with the real packaged reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.precision_calibration import precision_threshold, weighted_curve
from ragcore.adapters.rag_data import RagDataConfig, rag_examples, split_by_document
from ragcore.evals.squad import contains_span
from ragcore.evals.synthesis import SyntheticQuestion, TemplateQuestionGenerator, synthesize

from ragcore import Index
from ragcore.errors import ConfigError


def test_weighted_curve_by_hand() -> None:
    # two answerable readings (scores 0.2 right, 0.6 wrong), one unanswerable (0.4), one
    # answerable without a span; answerable questions carry half the weight
    scores = [0.2, 0.6, 0.4, None]
    right = [True, False, False, False]
    answerable = [True, True, False, True]
    curve = weighted_curve(scores, right, answerable, 0.5)
    assert [p.threshold for p in curve] == [0.2, 0.4, 0.6, 1.6]
    # weights: each answerable 0.5 / 3, the unanswerable one 0.5
    assert curve[0].coverage == 0 and curve[0].precision is None
    assert curve[1].coverage == pytest.approx(1 / 6) and curve[1].precision == 1.0
    assert curve[1].answerable_correct == pytest.approx(1 / 3)
    assert curve[2].coverage == pytest.approx(1 / 6 + 0.5)
    assert curve[2].precision == pytest.approx((1 / 6) / (1 / 6 + 0.5))  # 0.25
    assert curve[2].unanswerable_abstained == 0.0
    assert curve[3].precision == pytest.approx((1 / 6) / (2 / 6 + 0.5))  # 0.2
    point, met = precision_threshold(curve, 0.9)
    assert met and point.threshold == 0.4
    point, met = precision_threshold(curve[2:], 0.9)  # nothing reaches it: best precision
    assert not met and point.threshold == 0.6
    with pytest.raises(ConfigError, match="no answerable question"):
        weighted_curve([0.1], [False], [False], 0.5)


def _question(n: int, doc: str) -> SyntheticQuestion:
    return SyntheticQuestion(f"q{n}", "what?", "x", f"c{n}", doc, doc, "template")


def test_split_by_document_keeps_each_document_on_one_side() -> None:
    questions = [_question(n, f"doc{n % 40}") for n in range(400)]
    train, cal = split_by_document(questions, 0.25)
    assert len(train) + len(cal) == 400 and 40 < len(cal) < 160
    assert not {q.doc_id for q in train} & {q.doc_id for q in cal}
    assert split_by_document(questions, 0.25) == (train, cal)  # stable
    few = [_question(n, f"doc{n % 4}") for n in range(400)]  # four pages: split chunks
    train, cal = split_by_document(few, 0.25)
    assert 40 < len(cal) < 160 and {q.doc_id for q in train} & {q.doc_id for q in cal}
    assert not {q.chunk_id for q in train} & {q.chunk_id for q in cal}


@pytest.mark.slow
def test_rag_examples_over_a_real_index(demo_index: Index) -> None:
    chunks = list(demo_index.chunks())
    questions = synthesize(chunks, TemplateQuestionGenerator(), 40, seed=1, per_document=6)
    config = RagDataConfig(unanswerable_rate=0.5, seed=3)
    examples = rag_examples(demo_index, questions, config, quiet=True)
    by_id = {q.id: q for q in questions}
    doc_texts = {c.id: " ".join(c.text.split()) for c in chunks}
    chunk_doc = {c.id: c.doc_id for c in chunks}
    answerable = [e for e in examples if e.answer is not None]
    unanswerable = [e for e in examples if e.answer is None]
    assert len(answerable) >= 5 and len(unanswerable) >= 5
    assert {e.cited for e in answerable} != {1}  # the gold passage moves around
    for e in examples:
        q = by_id[e.id]
        assert len(e.passages) == 3 and e.question == q.question
        if e.answer is not None:
            assert e.answer in e.passages[e.cited - 1][1]
            assert doc_texts[q.chunk_id] in [t for _, t in e.passages]  # its own chunk
        else:
            own = {doc_texts[c] for c, d in chunk_doc.items() if d == q.doc_id}
            assert not own & {t for _, t in e.passages}
            assert not any(contains_span(t, q.answer) for _, t in e.passages)


@pytest.mark.slow
def test_tune_end_to_end_and_ask_uses_the_tuned_adapter(tmp_path: Path, capsys) -> None:
    from conftest import DEMO_DOCS
    from ragcore.adapters.tune import tuned_dir

    from ragcore.cli import main
    from ragcore.cli_ask import index_adapter

    index = tmp_path / "idx"
    assert main(["ingest", str(DEMO_DOCS), "--index", str(index), "-q"]) == 0
    args = ["adapters", "tune", "--index", str(index), "--questions", "80", "-q"]
    assert main([*args, "--minutes", "0.05"]) == 2  # no time left to train: a clear error
    assert "leaves no time to train" in capsys.readouterr().err
    assert not tuned_dir(index).exists()
    assert main([*args, "--minutes", "1.5"]) == 0
    assert "tuned adapter written to" in capsys.readouterr().out
    card = json.loads((tuned_dir(index) / "training_card.json").read_text())
    calibration = card["metrics"]["deployment_calibration"]
    assert calibration["target_precision"] == 0.9 and 0 < calibration["threshold"] <= 1
    assert card["training"]["continued_from"].endswith("squad2-reader")
    assert card["data"]["kind"] == "tune" and card["data"]["train_examples"] >= 8
    config = json.loads((tuned_dir(index) / "reader_config.json").read_text())
    assert config["abstain_threshold"] == calibration["threshold"]
    assert main(["adapters", "list", "--index", str(index), "--json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["tuned"]["tuned"]["threshold"] == calibration["threshold"]
    assert index_adapter(index, "default") == str(tuned_dir(index))
    assert index_adapter(index, "none") == "none"
    question = "What port does the gateway admin API use?"
    assert main(["ask", question, "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["abstain_score"] is not None
    assert not list(index.glob(".tuning-*"))  # the work folder is gone
