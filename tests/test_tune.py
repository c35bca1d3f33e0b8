"""``adapters tune``: questions synthesized from an index and split by page, calibration
prompts as ``ask`` serves them and with the page left out, the whole command over a real
index of demo docs (a tiny random base), and the index's tuned adapter as readers' default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.training.calibration_record import Tally
from ragcore.adapters.training.tune import (
    TuneConfig,
    calibration_prompts,
    publish,
    split_pages,
    synthetic_gold,
)
from ragcore.evals.data.gold import GoldQuestion
from tiny_models import tiny_model

from ragcore import Index
from ragcore.answer_match import contains_span
from ragcore.cli import main
from ragcore.errors import ConfigError
from ragcore.index_folder import (
    TUNED_ADAPTER,
    TUNED_NOT_SERVING,
    ServingReader,
    reader_adapter,
    tuned_adapter,
    tuned_choice,
)
from ragcore.protocols import Reply
from ragcore.types import Chunk

SENTENCE = "On page {p} the gateway {c} listens on port {n} for admin requests from the network."


def _chunks(pages: int, per_page: int) -> list[Chunk]:
    return [
        Chunk(
            f"p{p}-c{c}",
            f"p{p}",
            SENTENCE.format(p=p, c=c, n=1000 * p + c),
            0,
            1,
            metadata={"source": f"docs/p{p}.md"},
        )
        for p in range(pages)
        for c in range(per_page)
    ]


def test_synthetic_questions_spread_over_pages_and_name_their_page() -> None:
    chunks = _chunks(pages=2, per_page=10)
    questions = synthetic_gold(chunks, 12, seed=0)
    assert len(questions) == 12
    by_page = {s: sum(q.source == s for q in questions) for s in ("docs/p0.md", "docs/p1.md")}
    assert by_page == {"docs/p0.md": 6, "docs/p1.md": 6}  # ceil(12 / 2) per page at most
    text = {c.source: [] for c in chunks}
    for c in chunks:
        text[c.source].append(c.text)
    for q in questions:  # each answer is a span of its own page
        assert any(contains_span(t, q.answers[0]) for t in text[q.source])


def test_split_keeps_pages_whole() -> None:
    questions = [GoldQuestion(f"q{i}", f"question {i}?", ("a",), f"p{i % 5}.md") for i in range(20)]
    split = split_pages(questions, 6, seed=1)
    held = {q.source for q in split.calibration}
    assert len(split.calibration) == 8  # two pages of four: the first page past 6 questions
    assert held.isdisjoint({q.source for q in split.train})
    assert len(split.train) + len(split.calibration) == 20


def test_tune_config_rejects_impossible_budgets() -> None:
    with pytest.raises(ConfigError, match="minutes"):
        TuneConfig(minutes=0)
    with pytest.raises(ConfigError, match="calibration_questions"):
        TuneConfig(questions=50, calibration_questions=50)
    assert TuneConfig(calibration_questions=100).calibration_reads == pytest.approx(150)


@pytest.mark.slow
def test_calibration_prompts_add_left_out_pages_without_the_answer(demo_index: Index) -> None:
    plan = GoldQuestion(
        "plan",
        "What is the minimum number of users on the Enterprise plan?",
        ("50 users",),
        "billing-and-plans.md",
    )
    # "30 minutes" is also in faq.txt and troubleshooting.md: with its page left out the docs
    # still answer it, so it gets no unanswerable prompt
    reset = GoldQuestion(
        "reset", "How long is a password reset link valid?", ("30 minutes",), "authentication.md"
    )
    config = TuneConfig(calibration_left_out=1.0)
    prompts = calibration_prompts(demo_index, [plan, reset], config)
    assert [p.id for p in prompts] == ["plan", "reset", "plan-left-out"]
    served, left = prompts[0], prompts[2]
    assert served.golds == ("50 users",) and served.answer is None
    assert any("50 users" in text for _, text in served.passages)  # ask finds it
    assert left.golds == () and left.answer is None and len(left.passages) == 3
    assert all("50 users" not in text for _, text in left.passages)


def test_readers_default_to_the_index_tuned_adapter(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    assert tuned_adapter(index) is None
    assert reader_adapter(index, "default") == "default"
    folder = index / TUNED_ADAPTER
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    assert tuned_adapter(index) == folder
    assert tuned_choice(folder) is None  # an earlier tune, never compared: it serves
    for asked in ("default", None):
        assert reader_adapter(index, asked) == str(folder)
    for asked in ("squad2-reader", "none", "/some/adapter"):
        assert reader_adapter(index, asked) == asked  # what a user names is what they get


@pytest.mark.parametrize(
    ("tuned", "span", "serves"),
    [
        (Tally(10, 2, 8), Tally(9, 2, 9), ServingReader.TUNED),
        (Tally(10, 2, 8), Tally(9, 1, 10), ServingReader.SPAN_READER),  # a tie keeps the default
        (Tally(12, 6, 2), Tally(8, 1, 11), ServingReader.SPAN_READER),  # more right, more wrong
    ],
)
def test_the_tuned_adapter_serves_only_when_it_beat_the_span_reader(
    tmp_path: Path, tuned: Tally, span: Tally, serves: ServingReader
) -> None:
    from ragcore.adapters.reader.card import write_card
    from ragcore.adapters.training.reader_choice import ReaderChoice

    choice = ReaderChoice(tuned, span)
    assert choice.chosen is serves
    folder = tmp_path / "idx" / TUNED_ADAPTER
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    write_card(folder, {"metrics": {"reader_choice": choice.to_json()}})
    assert tuned_choice(folder) is serves
    expected = str(folder) if serves is ServingReader.TUNED else None
    assert reader_adapter(tmp_path / "idx", None) == expected
    assert tuned_adapter(tmp_path / "idx") == folder  # kept for --adapter either way


@pytest.mark.parametrize("card", ["{not json", '{"metrics": {"reader_choice": {"chosen": "x"}}}'])
def test_a_broken_tuned_card_is_named_not_a_traceback(tmp_path: Path, card: str) -> None:
    folder = tmp_path / "idx" / TUNED_ADAPTER
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "training_card.json").write_text(card)
    with pytest.raises(ConfigError, match="not a training card") as caught:
        reader_adapter(tmp_path / "idx", None)
    assert str(folder) in caught.value.hint


@pytest.mark.parametrize("chosen", list(ServingReader))
def test_a_tune_replaces_a_tuned_adapter_whose_card_is_broken(
    tmp_path: Path, chosen: ServingReader
) -> None:
    index = tmp_path / "idx"
    broken = index / TUNED_ADAPTER
    broken.mkdir(parents=True)
    (broken / "adapter_config.json").write_text("{}")
    (broken / "training_card.json").write_text("{not json")
    assert publish(_written_adapter(index, "new", chosen), index, chosen) == broken
    assert (broken / "which").read_text() == "new"
    expected = str(broken) if chosen is ServingReader.TUNED else None
    assert reader_adapter(index, None) == expected
    assert not (index / TUNED_NOT_SERVING).exists()


def test_tallies_count_answers_at_the_threshold() -> None:
    from ragcore.adapters.training.raft import ReaderExample
    from ragcore.adapters.training.reader_choice import reply_tally
    from ragcore.adapters.training.thresholds import tally

    # scores, answer F1, answerable: at 0.5 the first three answer (right, wrong: F1 0.4,
    # wrong: unanswerable) and the last two abstain
    scores, f1 = [0.1, 0.2, 0.3, 0.5, 0.9], [1.0, 0.4, 0.0, 1.0, 0.0]
    answerable = [True, True, False, True, False]
    assert tally(scores, f1, answerable, 0.5) == Tally(1, 2, 2)
    assert tally(scores, f1, answerable, 1.0) == Tally(2, 3, 0)
    assert tally(scores, f1, answerable, 0.0) == Tally(0, 0, 5)

    passages = (("t", "the admin port is 9001"),)
    port = ReaderExample("a", "admin port?", passages, "9001", 1, ("9001",))
    none = ReaderExample("b", "cost?", passages, None, None, ())
    replies = [(Reply("9001", (1,)), port), (Reply("port", (1,)), port), (Reply("9001"), none)]
    assert reply_tally([*replies, (Reply(None), port)]) == Tally(1, 2, 1)


def test_the_default_reader_is_the_span_reader_unless_an_adapter_applies(tmp_path: Path) -> None:
    from ragcore.plugins import DECODER_READER, SPAN_READER, default_reader

    index = tmp_path / "idx"
    for asked in (None, "default"):
        assert default_reader(reader_adapter(index, asked)) == SPAN_READER
    assert default_reader("squad2-reader") == default_reader("none") == DECODER_READER
    (index / TUNED_ADAPTER).mkdir(parents=True)
    (index / TUNED_ADAPTER / "adapter_config.json").write_text("{}")
    assert default_reader(reader_adapter(index, None)) == DECODER_READER  # adapters tune's


def _written_adapter(index: Path, name: str, chosen: ServingReader) -> Path:
    """A finished tune's folder as ``tune`` leaves it before publishing: adapter and card."""
    folder = index / "adapters" / name
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    card = {"metrics": {"reader_choice": {"chosen": chosen.value}}}
    (folder / "training_card.json").write_text(json.dumps(card))
    (folder / "which").write_text(name)
    return folder


def test_a_losing_tune_never_displaces_the_tuned_adapter_that_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragcore.adapters.training.reader_choice import ReaderChoice

    from ragcore.cli.adapters_tune import _print_choice

    index, span, tuned = tmp_path / "idx", ServingReader.SPAN_READER, ServingReader.TUNED

    def which(path: Path) -> str:
        return (index / path / "which").read_text()

    assert publish(_written_adapter(index, "a", span), index, span) == index / TUNED_ADAPTER
    assert reader_adapter(index, None) is None  # lost, and nothing else serves: span reader
    assert publish(_written_adapter(index, "b", tuned), index, tuned) == index / TUNED_ADAPTER
    assert reader_adapter(index, None) == str(index / TUNED_ADAPTER) and which(TUNED_ADAPTER) == "b"
    for name in ("c", "d"):  # later losers are kept aside, the newest only; b keeps serving
        aside = publish(_written_adapter(index, name, span), index, span)
        assert aside == index / TUNED_NOT_SERVING
        assert which(TUNED_NOT_SERVING) == name and which(TUNED_ADAPTER) == "b"
        assert reader_adapter(index, None) == str(index / TUNED_ADAPTER)
    assert main(["adapters", "list", "--index", str(index), "--json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["tuned"]["default"] and not listed["tuned-not-serving"]["default"]
    assert listed["tuned-not-serving"]["path"] == str(index / TUNED_NOT_SERVING)
    lost = ReaderChoice(Tally(1, 3, 2), Tally(4, 1, 1))
    _print_choice(lost, index / TUNED_NOT_SERVING, index)
    said = " ".join(capsys.readouterr().out.split())
    assert f"keep the tuned adapter that serves it now, {index / TUNED_ADAPTER}" in said
    assert f"--adapter {index / TUNED_NOT_SERVING}" in said
    assert publish(_written_adapter(index, "e", tuned), index, tuned) == index / TUNED_ADAPTER
    assert which(TUNED_ADAPTER) == "e" and not (index / TUNED_NOT_SERVING).exists()
    assert sorted(p.name for p in (index / "adapters").iterdir()) == ["tuned"]


@pytest.mark.slow
def test_cli_tunes_a_reader_under_the_index(
    docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from ragcore.adapters.reader.merged import merged_dir
    from ragcore.adapters.reader.registry import AdapterInfo
    from ragcore.adapters.training.lora import TrainConfig, train_adapter
    from ragcore.adapters.training.raft import ReaderExample

    monkeypatch.setenv("RAGCORE_CACHE", str(tmp_path / "cache"))

    base = tiny_model(tmp_path / "tiny-base")
    start = tmp_path / "start"
    example = ReaderExample("a", "the port is", (("gateway", "the port is 9000"),), "9000", 1)
    train_adapter(base, "tiny-base", [example], start, TrainConfig(rank=4, alpha=8), quiet=True)
    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    args = ["adapters", "tune", "--index", str(index), "--from", str(start), "--base", str(base)]
    args += ["--questions", "30", "--calibration-questions", "6", "-q"]
    assert main([*args, "--minutes", "3"]) == 0
    printed = capsys.readouterr()
    assert "Warning" not in printed.err and "Traceback" not in printed.err
    said = " ".join(printed.out.split())
    assert f"saved to {index / TUNED_ADAPTER}" in said
    card = json.loads((index / TUNED_ADAPTER / "training_card.json").read_text())
    data = card["data"]
    assert data["kind"] == "tune" and data["synthesized"] == 30
    assert data["train_questions"] + data["calibration_questions"] == 30
    assert data["calibration_questions"] >= 6
    assert card["continued_from"]["adapter"] == "start"
    assert 0 < card["training"]["examples_trained_on"] <= card["training"]["examples"]
    calibration = card["metrics"]["calibration"]
    assert calibration["calibrated_on"] == "synthetic"
    assert calibration["target_precision"]["precision"] == 0.9
    assert not (index / "adapters" / "tuned-partial").exists()

    # both readers read the held-out prompts; a random tiny base cannot beat the span reader
    choice = card["metrics"]["reader_choice"]
    prompts = calibration["questions"]
    for reader in ("tuned", "span_reader"):
        assert sum(choice[reader].values()) == prompts
    assert choice["tuned"] == calibration["served"]
    span, tuned = choice["span_reader"], choice["tuned"]
    assert span["right"] > 0  # the packaged span reader answers synthesized questions
    assert span["right"] - span["wrong"] >= tuned["right"] - tuned["wrong"]
    assert choice["chosen"] == "span-reader"
    assert "keep the span reader" in said and f"--adapter {index / TUNED_ADAPTER}" in said
    assert reader_adapter(index, None) is None  # ask keeps the span reader
    merged = merged_dir(AdapterInfo.at(index / TUNED_ADAPTER))  # no merge for a reader not used
    assert not merged.exists()

    assert main(["adapters", "list", "--index", str(index), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["name"]: row["path"] for row in listed}["tuned"] == str(index / TUNED_ADAPTER)
    assert [row["name"] for row in listed if row["default"]] == ["span-reader"]
    assert main(["adapters", "list", "--index", str(index)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    net = span["right"] - span["wrong"]
    assert f"tuned is not the default: on its held-out pages the span reader had {net}" in said

    assert main([*args, "--minutes", "0.05"]) == 2  # no time to train: refused, nothing lost
    assert "leave no time to train" in capsys.readouterr().err
    assert (index / TUNED_ADAPTER / "adapter_model.safetensors").is_file()
