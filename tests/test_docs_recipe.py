"""``adapters train-docs``: serving-shaped examples from gold questions over a real index of
the demo docs, and LoRA training continued from an adapter (a tiny random base)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.training.docs_recipe import DocsRecipe, RecipeCounts, docs_examples
from ragcore.adapters.training.lora import TrainConfig, train_adapter
from ragcore.adapters.training.raft import ReaderExample
from ragcore.evals.data.gold import GoldQuestion
from tiny_models import tiny_model

from ragcore import Index
from ragcore.errors import ConfigError

RESET = "How long is a password reset link valid?"
RETRIEVED = GoldQuestion("reset", RESET, ("30 minutes",), "authentication.md")
ENTERPRISE = GoldQuestion(
    "min",
    "What is the minimum number of users on the Enterprise plan?",
    ("50 users",),
    "billing-and-plans.md",
)
# a gold answer that retrieval for this question does not bring: its page's chunk is placed
PLACED = GoldQuestion("price", RESET, ("$18 per user per month",), "billing-and-plans.md")
NOT_VERBATIM = GoldQuestion("words", RESET, ("eighteen dollars",), "billing-and-plans.md")
NOT_IN_DOCS = GoldQuestion("helm", "Which rover landed on Mars in 2021?")


def _holder(example: ReaderExample) -> str:
    assert example.cited is not None
    return example.passages[example.cited - 1][1]


@pytest.mark.slow
def test_each_kind_of_question_becomes_its_example(demo_index: Index) -> None:
    questions = [RETRIEVED, PLACED, NOT_VERBATIM, NOT_IN_DOCS]
    built = docs_examples(demo_index, questions, DocsRecipe(leave_out_rate=0.0))
    assert built.counts == RecipeCounts(retrieved=1, placed=1, no_verbatim=1, not_in_docs=1)
    by_id = {ex.id: ex for ex in built.examples}
    assert set(by_id) == {"reset", "price", "helm"}
    assert by_id["reset"].answer == "30 minutes" and "30 minutes" in _holder(by_id["reset"])
    price = by_id["price"]
    assert price.answer == "$18 per user per month" and price.answer in _holder(price)
    assert len(price.passages) == 3  # the page's chunk replaced one retrieved passage
    retrieved = demo_index.search(RESET, k=3, mode="hybrid+rerank").hits
    assert not any(PLACED.is_source(h.chunk.source) for h in retrieved)
    helm = by_id["helm"]
    assert helm.answer is None and helm.cited is None and len(helm.passages) == 3


@pytest.mark.slow
def test_a_left_out_page_gives_an_abstention_without_the_answer(demo_index: Index) -> None:
    built = docs_examples(demo_index, [ENTERPRISE], DocsRecipe(leave_out_rate=1.0))
    assert built.counts == RecipeCounts(retrieved=1, left_out=1)
    answered, left_out = built.examples
    assert answered.answer == "50 users" and answered.cited is not None
    assert left_out.id == "min-left-out" and left_out.answer is None
    assert len(left_out.passages) == 3
    assert not any("50 users" in text for _, text in left_out.passages)
    again = docs_examples(demo_index, [ENTERPRISE], DocsRecipe(leave_out_rate=1.0))
    assert again == built  # the same seed draws the same examples


def test_the_recipe_rejects_impossible_settings() -> None:
    with pytest.raises(ConfigError, match="passages=11, pool=10"):
        DocsRecipe(passages=11)
    with pytest.raises(ConfigError, match=r"leave_out_rate=1\.5"):
        DocsRecipe(leave_out_rate=1.5)


def test_gold_question_matches_its_source_by_suffix() -> None:
    assert RETRIEVED.is_source("file:///srv/docs/authentication.md")
    assert not RETRIEVED.is_source("file:///srv/docs/old-authentication.md")
    assert not NOT_IN_DOCS.is_source("file:///srv/docs/authentication.md")


EXAMPLES = [
    ReaderExample("a", "the port is", (("gateway", "the port is 9000"),), "9000", 1),
    ReaderExample("b", "reset minutes", (("gateway", "the gateway is the port"),), None, None),
]


@pytest.fixture(scope="module")
def tiny_start(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny base and an adapter trained on it, to continue from."""
    root = tmp_path_factory.mktemp("docs-recipe")
    base = tiny_model(root / "tiny-base")
    config = TrainConfig(rank=4, alpha=8, learning_rate=3e-2, epochs=4, grad_accum=1)
    train_adapter(base, "tiny-base", EXAMPLES, root / "start", config, quiet=True)
    return base, root / "start"


def test_training_continues_from_the_start_adapter(tiny_start, tmp_path: Path) -> None:
    from ragcore.adapters.reader.base_model import file_sha256
    from safetensors.torch import load_file

    base, start = tiny_start
    config = TrainConfig(rank=8, alpha=16, learning_rate=1e-9, grad_accum=1, warmup_steps=0)
    out = tmp_path / "continued"
    train_adapter(base, "tiny-base", EXAMPLES[:1], out, config, quiet=True, start=start)
    before = load_file(start / "adapter_model.safetensors")
    after = load_file(out / "adapter_model.safetensors")
    assert before.keys() == after.keys()  # the start's rank 4, not the config's 8
    assert any(float(t.abs().sum()) > 0 for k, t in before.items() if "lora_B" in k)
    for key, tensor in before.items():  # a step at lr 1e-9 leaves the start's weights
        assert (after[key].float() - tensor.float()).abs().max() < 1e-3, key
    card = json.loads((out / "training_card.json").read_text())
    sha = file_sha256(start / "adapter_model.safetensors")
    assert card["continued_from"] == {"adapter": "start", "sha256": sha}


@pytest.mark.slow
def test_cli_train_docs_writes_a_continued_adapter(
    tiny_start, docs_dir: Path, tmp_path: Path, capsys
) -> None:
    from ragcore.cli import main

    base, start = tiny_start
    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "a", "question": RESET, "answers": ["30 minutes"], "source": "authentication.md"},
        {"id": "b", "question": "Which rover landed on Mars in 2021?", "answers": []},
    ]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (start / "reader_config.json").write_text('{"abstain_threshold": 0.5}\n')
    out = tmp_path / "docs-reader"
    args = ["adapters", "train-docs", "--questions", str(gold), "--index", str(index)]
    args += ["--from", str(start), "--base", str(base), "--out", str(out), "--leave-out-rate", "0"]
    assert main([*args, "--grad-accum", "1", "-q"]) == 0
    printed = capsys.readouterr()
    assert "refit it with ragcore adapters calibrate" in printed.out
    assert "Warning" not in printed.err
    card = json.loads((out / "training_card.json").read_text())
    (counts,) = card["data"]["sets"]
    assert (counts["retrieved"], counts["not_in_docs"], counts["left_out"]) == (1, 1, 0)
    assert card["training"]["examples"] == 2 and card["hyperparameters"]["rank"] == 4
    assert card["continued_from"]["adapter"] == "start"
    assert json.loads((out / "reader_config.json").read_text()) == {"abstain_threshold": 0.5}
    assert main([*args, "--questions", str(gold), "-q"]) == 2
    assert "2 --questions for 1 --index" in capsys.readouterr().err
