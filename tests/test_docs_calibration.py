"""``adapters calibrate --gold --index``: calibrating a reader's abstention on gold questions
asked of a real index of the demo docs as ``ask`` asks them (a tiny random base)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.training.docs_recipe import served_examples
from ragcore.adapters.training.lora import TrainConfig, train_adapter
from ragcore.adapters.training.raft import ReaderExample
from ragcore.evals.data.gold import GoldQuestion
from tiny_models import tiny_model

from ragcore import Index
from ragcore.ask import AskConfig, retrieve
from ragcore.cli import main

RESET = "How long is a password reset link valid?"
PLAN = "What is the minimum number of users on the Enterprise plan?"
GOLD = [
    {"id": "reset", "question": RESET, "answers": ["30 minutes"], "source": "authentication.md"},
    {"id": "plan", "question": PLAN, "answers": ["50 users"], "source": "billing-and-plans.md"},
    {"id": "mars", "question": "Which rover landed on Mars in 2021?", "answers": []},
    {"id": "tea", "question": "What tea does the support team drink?", "answers": []},
]


@pytest.mark.slow
def test_served_examples_are_the_passages_ask_retrieves(demo_index: Index) -> None:
    questions = [GoldQuestion("reset", RESET, ("30 minutes",), "authentication.md")]
    questions.append(GoldQuestion("mars", "Which rover landed on Mars in 2021?"))
    examples = served_examples(demo_index, questions, passages=3, name="demo")
    assert [ex.id for ex in examples] == ["reset", "mars"]
    for q, ex in zip(questions, examples, strict=True):
        hits = retrieve(demo_index, q.question, AskConfig(passages=3)).hits
        assert [text for _, text in ex.passages] == [h.chunk.text for h in hits]
        assert ex.golds == q.answers and ex.answer is None and ex.cited is None
    assert [ex.paragraph for ex in examples] == ["demo:authentication.md", "demo:mars"]


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("docs-calibration")
    base = tiny_model(root / "tiny-base")
    examples = [ReaderExample("a", "the port is", (("gateway", "the port is 9000"),), "9000", 1)]
    config = TrainConfig(rank=4, alpha=8, learning_rate=3e-2, epochs=2, grad_accum=1)
    train_adapter(base, "tiny-base", examples, root / "reader", config, quiet=True)
    return base, root / "reader"


@pytest.mark.slow
def test_cli_calibrates_on_gold_questions_over_an_index(
    tiny_reader, docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, adapter = tiny_reader
    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    gold = tmp_path / "support.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in GOLD))
    args = ["adapters", "calibrate", str(adapter), "--gold", str(gold), "--index", str(index)]
    assert main([*args, "--base", str(base), "-q"]) == 0
    card = json.loads((adapter / "training_card.json").read_text())["metrics"]["calibration"]
    assert card["calibrated_on"] == "docs" and card["articles"] == ["support"]
    assert (card["questions"], card["passages"]) == (4, 3)
    assert card["target_precision"]["precision"] == 0.9  # the docs default
    saved = json.loads((adapter / "reader_config.json").read_text())
    assert saved["score"] == card["score"] and card["score"] in card["scores"]
    verifier = card["verifier"]
    assert "skipped" in verifier or "passage_relevance" in verifier["features"]
    assert "Warning" not in capsys.readouterr().err

    assert main([*args, "--article", "Rivers", "--base", str(base), "-q"]) == 2
    assert "run one calibration at a time" in capsys.readouterr().err
    assert main([*args, "--gold", str(gold), "--base", str(base), "-q"]) == 2
    assert "2 --gold for 1 --index" in capsys.readouterr().err
    assert main(["adapters", "calibrate", str(adapter), "--base", str(base), "-q"]) == 2
    assert "nothing to calibrate on" in capsys.readouterr().err
