"""``eval reader``: SQuAD 2.0 scoring (hand-computed), gold-paragraph and end-to-end runs, and
the adapters CLI from training to scoring on a tiny model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from ragcore.evals.data.squad import SquadParagraphs, load_squad
from ragcore.evals.reader_eval import (
    ReaderPrediction,
    read_end_to_end,
    read_gold,
    retrieval_gate_curve,
    squad2_metrics,
)
from tiny_models import fixture_words, squad_fixture, tiny_model

from ragcore import Index
from ragcore.answer_match import contains_span
from ragcore.ask import AskConfig
from ragcore.cli import main
from ragcore.prompting import ABSTAIN_REPLY, parse_reply
from ragcore.protocols import Reply
from ragcore.types import Prompt

REPLIES = {
    "Which port does the gateway use ?": "port 9000 [1]",  # F1 2/3, EM 0
    "How long does a reset take ?": "ten minutes [1]",  # exact
    "Who built the gateway ?": ABSTAIN_REPLY,  # correct abstention
    "What does the Pro plan cost ?": ABSTAIN_REPLY,  # wrong abstention
    "When was billing invented ?": "monthly [1]",  # answers an unanswerable one
    "Which city does the Seine flow through ?": "Paris [1]",  # exact
    "What colour is the Seine ?": ABSTAIN_REPLY,  # correct abstention
}


class Scripted:
    name = "scripted"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        self.seen.append([" ".join(p.text.split()) for p in prompt.passages])
        reply = parse_reply(REPLIES[prompt.question], len(prompt.passages))
        if on_token is not None:
            on_token(reply.text)
        return reply


@pytest.fixture()
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(squad_fixture()))
    return path


def test_squad2_metrics_by_hand() -> None:
    preds = [
        ReaderPrediction("a", "q", ("port 9000",), "9000", 0.1),  # EM 0, F1 2/3
        ReaderPrediction("b", "q", ("Paris",), "Paris", 0.1),  # EM 1, F1 1
        ReaderPrediction("c", "q", (), None, 0.1),  # abstained correctly: 1
        ReaderPrediction("d", "q", (), "x", 0.1),  # answered an unanswerable one: 0
    ]
    result = squad2_metrics(preds)
    m = result["metrics"]
    assert result["n"] == 4 and result["n_hasans"] == 2 and result["n_noans"] == 2
    assert m["exact"] == pytest.approx(100 * 2 / 4)
    assert m["f1"] == pytest.approx(100 * (2 / 3 + 1 + 1 + 0) / 4, abs=1e-3)
    assert m["hasans_f1"] == pytest.approx(100 * (2 / 3 + 1) / 2, abs=1e-3)
    assert m["noans_acc"] == 50.0 and m["abstain_rate"] == 25.0


def test_retrieval_gate_curve_by_hand() -> None:
    preds = [
        ReaderPrediction("a", "q", ("Paris",), "Paris", 0.1, retrieval_score=5.0),  # right
        ReaderPrediction("b", "q", ("Paris",), "Rome", 0.1, retrieval_score=-2.0),  # wrong
        ReaderPrediction("c", "q", (), "x", 0.1, retrieval_score=-4.0),  # should abstain
        ReaderPrediction("d", "q", (), None, 0.1, retrieval_score=3.0),  # abstained
    ]
    curve = retrieval_gate_curve(preds, steps=4)
    # quantile cuts of (-4, -2, 3, 5) at 0, 1/4, 2/4, 3/4 of the way: -4, -4, -2, 3
    assert [row["min_rerank_score"] for row in curve] == [None, -4.0, -2.0, 3.0]
    assert [row["f1"] for row in curve] == [50.0, 50.0, 75.0, 75.0]
    # at 3.0 the right answer above it stays, "b" and "c" abstain, "d" had abstained already
    assert curve[-1]["noans_acc"] == 100.0 and curve[-1]["hasans_f1"] == 50.0
    gold = [ReaderPrediction("a", "q", ("Paris",), "Paris", 0.1)]  # no retrieval: gate off only
    assert [row["min_rerank_score"] for row in retrieval_gate_curve(gold)] == [None]


def test_read_gold_scores_each_question_with_its_paragraph(squad_file: Path) -> None:
    gen = Scripted()
    preds = read_gold(load_squad(squad_file), gen, quiet=True)
    assert [len(p) for p in gen.seen] == [1] * 7
    assert gen.seen[0][0].startswith("The gateway listens on port 9000")
    m = squad2_metrics(preds)["metrics"]
    # answerable: 2/3, 1, 0, 1 -> HasAns F1 = 2.6667/4; unanswerable: 1, 0, 1
    assert m["hasans_f1"] == pytest.approx(100 * (2 / 3 + 2) / 4, abs=1e-3)
    assert m["noans_acc"] == pytest.approx(100 * 2 / 3, abs=1e-3)
    assert m["f1"] == pytest.approx(100 * (2 / 3 + 2 + 2) / 7, abs=1e-3)
    assert all(p.first_token_seconds is not None for p in preds)


def test_end_to_end_retrieves_the_paragraphs(squad_file: Path, tmp_path: Path) -> None:
    articles = load_squad(squad_file)
    gen = Scripted()
    with Index.open(tmp_path / "idx", create=True) as index:
        report = index.ingest([SquadParagraphs(squad_file, articles)], quiet=True)
        assert report.added == 3
        again = index.ingest([SquadParagraphs(squad_file, articles)], quiet=True)
        assert again.added == 0 and again.unchanged == 3  # idempotent
        preds = read_end_to_end(
            articles, index, gen, AskConfig(passages=2, mode="hybrid"), quiet=True
        )
    assert len(preds) == 7 and all(len(p) == 2 for p in gen.seen)
    by_id = {p.id: p for p in preds}
    assert by_id["r1"].prediction == "Paris"  # the guard kept a supported, cited answer
    assert by_id["g3"].prediction is None
    assert all(p.retrieval_score is None for p in preds)  # hybrid: no rerank score to gate on


def test_adapters_cli_train_calibrate_list_merge_and_score(
    squad_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tiny_model(tmp_path / "tiny-base", fixture_words())
    adapter = tmp_path / "tiny-reader"
    code = main(
        ["adapters", "train", "--data", str(squad_file), "--out", str(adapter),
         "--base", str(base), "--validate", "Rivers", "--max-examples", "4", "--quiet"]
    )  # fmt: skip
    assert code == 0
    card = json.loads((adapter / "training_card.json").read_text())
    assert card["data"]["train_articles"] == ["Gateways"]
    assert card["data"]["held_out_articles"] == ["Rivers"]
    assert card["hyperparameters"]["max_examples"] == 4 and card["training"]["examples"] == 4
    calibration = card["metrics"]["calibration"]
    assert calibration["articles"] == ["Rivers"] and calibration["questions"] == 2
    saved = json.loads((adapter / "reader_config.json").read_text())
    assert saved["abstain_threshold"] == calibration["abstain_threshold"]
    # the abstention head was fitted on the training article and competed with the other scores
    assert (adapter / "abstain_head.safetensors").is_file()
    assert calibration["head"]["fitted_on"] == ["Gateways"] and calibration["head"]["layer"] in (
        1,
        2,
    )
    assert set(calibration["scores"]) == {"p_abstain", "null_vs_span", "head"}
    assert saved["score"] == calibration["score"] and calibration["score"] in calibration["scores"]

    capsys.readouterr()
    assert main(["adapters", "list", str(adapter), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed if r["path"] == str(adapter)] == ["tiny-reader"]

    merged = tmp_path / "merged"
    assert main(["adapters", "merge", str(adapter), "--base", str(base), "--out", str(merged)]) == 0
    assert (merged / "abstain_head.safetensors").is_file()
    result_path = tmp_path / "reader.json"
    code = main(
        ["eval", "reader", str(squad_file), "--generator", "transformers", "--model",
         str(merged), "--article", "Rivers", "--json", str(result_path), "--quiet"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(result_path.read_text())
    assert result["n"] == 2 and set(result["metrics"]) >= {"exact", "f1", "hasans_f1", "noans_acc"}
    assert all(0 <= result["metrics"][k] <= 100 for k in ("exact", "f1"))
    passage = "The Seine flows through Paris . It is long ."
    for row in result["predictions"]:  # a merged reader copies whole-word spans or abstains
        assert row["prediction"] is None or contains_span(passage, row["prediction"])
    # end to end through ask (hybrid+rerank, as ask): what a retrieval gate would have done
    code = main(
        ["eval", "reader", str(squad_file), "--generator", "transformers", "--model",
         str(merged), "--index", str(tmp_path / "idx"), "--json", str(result_path), "--quiet"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(result_path.read_text())
    assert result["n"] == 7 and result["setting"] == "end to end (hybrid+rerank, 3 passages)"
    gate = result["retrieval_gate"]
    assert gate[0]["min_rerank_score"] is None and gate[0]["f1"] == result["metrics"]["f1"]
    cuts = [row["min_rerank_score"] for row in gate[1:]]
    assert cuts == sorted(cuts) and len(cuts) >= 2
    assert [row["abstain_rate"] for row in gate[1:]] == sorted(
        row["abstain_rate"] for row in gate[1:]
    )


def test_commands_show_no_library_bars_or_warnings(
    squad_file: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import warnings

    from huggingface_hub.utils import are_progress_bars_disabled

    base = tiny_model(tmp_path / "tiny-base", fixture_words())
    command = ["eval", "reader", str(squad_file), "--generator", "transformers", "--model",
               str(base), "--article", "Rivers"]  # fmt: skip
    for extra in ([], ["--quiet"]):
        assert main([*command, *extra]) == 0
        err = capfd.readouterr().err
        assert "Loading weights" not in err and "Warning" not in err
    assert not are_progress_bars_disabled()  # back on after the command
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.warn("after the command", FutureWarning, stacklevel=1)
    assert len(seen) == 1  # the warning filters are back too


@pytest.mark.slow
def test_json_rows_hold_every_draft_and_its_abstention_score(
    squad_file: Path, tmp_path: Path
) -> None:
    """With the shipped span reader: each row has the span found, answered or withheld, its
    F1 and the score compared with the threshold, so a user can choose a threshold."""
    from ragcore.answer_match import token_f1

    result_path = tmp_path / "reader.json"
    code = main(["eval", "reader", str(squad_file), "--generator", "extractive", "--json",
                 str(result_path), "--quiet"])  # fmt: skip
    assert code == 0
    rows = json.loads(result_path.read_text())["predictions"]
    paragraphs = [p["context"] for a in squad_fixture()["data"] for p in a["paragraphs"]]
    assert len(rows) == 7 and all(row["draft"] for row in rows)
    for row in rows:
        assert any(row["draft"] in text for text in paragraphs)  # copied from a paragraph
        assert 0.0 <= row["abstain_score"] <= 1.0
        assert row["draft_f1"] == token_f1(row["draft"], row["golds"])
        withheld = row["abstain_score"] >= 0.65  # the span reader's shipped threshold
        assert row["prediction"] == (None if withheld else row["draft"])
    assert ReaderPrediction("a", "q", ("Paris",), None, 0.1, draft="Paris France").draft_f1 == (
        pytest.approx(2 / 3)
    )  # precision 1/2, recall 1
    assert ReaderPrediction("b", "q", (), None, 0.1).draft_f1 is None


def test_unknown_article_is_a_clear_error(
    squad_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "reader", str(squad_file), "--article", "Nile", "--adapter", "none"])
    assert code == 2
    assert "no article titled Nile" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_keeps_the_score_that_ranks_failed_answers_best(
    squad_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tiny_model(tmp_path / "tiny-base", fixture_words())
    adapter = tmp_path / "tiny-reader"
    assert main(
        ["adapters", "train", "--data", str(squad_file), "--out", str(adapter), "--base",
         str(base), "--holdout", "Rivers", "--max-examples", "4", "--no-head", "--quiet"]
    ) == 0  # fmt: skip
    code = main(
        ["adapters", "calibrate", str(adapter), "--data", str(squad_file), "--article",
         "Gateways", "--base", str(base), "--quiet"]
    )  # fmt: skip
    assert code == 0
    calibration = json.loads((adapter / "training_card.json").read_text())["metrics"]["calibration"]
    scores, score = calibration["scores"], calibration["score"]

    def rank(entry: dict) -> tuple[float, float]:
        return (entry["auc_fails"] or 0.0, entry["f1"])

    assert rank(scores[score]) == max(rank(entry) for entry in scores.values())
    for entry in scores.values():  # two paragraphs: two folds
        assert entry["cv_f1"] is not None and 0 <= entry["cv_f1"] <= 100
    saved = json.loads((adapter / "reader_config.json").read_text())
    assert saved["score"] == score and saved["abstain_threshold"] == scores[score]["threshold"]
    assert "focus_sentences" not in saved
    # Serving-shaped: each question among its article's other paragraphs (Gateways has two).
    code = main(
        ["adapters", "calibrate", str(adapter), "--data", str(squad_file), "--article",
         "Gateways", "--base", str(base), "--passages", "3", "--quiet"]
    )  # fmt: skip
    assert code == 0
    served = json.loads((adapter / "training_card.json").read_text())["metrics"]["calibration"]
    assert served["passages"] == 3 and calibration["passages"] == 1
    assert served["questions"] == calibration["questions"]
    assert all(entry["cv_f1"] is not None for entry in served["scores"].values())
    # A precision target at a deployment's share of answerable questions: the threshold is
    # the curve's point of most coverage at that precision, or the F1 peak when none is.
    code = main(
        ["adapters", "calibrate", str(adapter), "--data", str(squad_file), "--article",
         "Gateways", "--base", str(base), "--passages", "3", "--target-precision", "0.5",
         "--answerable-share", "0.6", "--quiet"]
    )  # fmt: skip
    assert code == 0
    aimed = json.loads((adapter / "training_card.json").read_text())["metrics"]["calibration"]
    target = aimed["target_precision"]
    saved = json.loads((adapter / "reader_config.json").read_text())
    assert (target["precision"], target["answerable_share"]) == (0.5, 0.6)
    assert len(aimed["precision_curve"]) == 21 and len(served["precision_curve"]) == 21
    assert target["reached"] == (target["point"] is not None)
    if target["reached"]:
        assert target["point"]["precision"] >= 0.5
        assert saved["abstain_threshold"] == target["point"]["threshold"]
    elif target["closest"] is not None:  # the most supported point instead
        assert saved["abstain_threshold"] == target["closest"]["threshold"]
        assert target["closest"]["answered"] > 0
    else:
        assert saved["abstain_threshold"] == aimed["scores"][aimed["score"]]["threshold"]
    assert "target_precision" not in served
    code = main(
        ["adapters", "calibrate", str(adapter), "--data", str(squad_file), "--article",
         "Gateways", "--base", str(base), "--answerable-share", "0.6"]
    )  # fmt: skip
    assert code == 2
    assert "add --target-precision" in capsys.readouterr().err
