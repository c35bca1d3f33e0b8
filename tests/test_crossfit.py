"""Cross-fitted calibration: the pooled choice on hand-made readings (no model), the plan's
checks, and the CLI's parts, resumption and final calibration on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.abstain_head import AbstainHead
from ragcore.adapters.calibration import calibrate_threshold, cross_validated_f1
from ragcore.adapters.crossfit import (
    READINGS_FILE,
    CrossFitConfig,
    HeldOutReading,
    head_setting,
    part_folder,
    pooled_calibration,
)
from ragcore.adapters.training import TrainConfig
from ragcore.adapters.verifier import VerifierFeature, feature_values, out_of_fold
from tiny_models import fixture_words, squad_fixture, tiny_model

from ragcore.cli import main
from ragcore.errors import ConfigError


def _row(article: str, n: int, answerable: bool, right: bool, head: float) -> HeldOutReading:
    """A reading whose span is right (F1 1) or wrong (F1 0); its passage's sentence says
    "relevant" exactly when the question is answerable and the span right."""
    golds = ("blue sky",) if answerable else ()
    answer = "blue sky" if right else "green grass"
    sentence = "relevant" if answerable and right else "unrelated"
    passage = f"The {answer} is {sentence}."
    return HeldOutReading(
        article, f"{article}{n}", f"q{n}", passage, golds, answer, 1, 0.3, 0.2, head
    )


def _relevance(question: str, sentence: str) -> float:
    return 5.0 if "relevant" in sentence and "unrelated" not in sentence else -5.0


def _readings() -> list[HeldOutReading]:
    """Three articles; the head score is noise, the relevance separates failed answers."""
    rows = []
    for a, article in enumerate(("A", "B", "C")):
        for n in range(12):
            answerable, right = n % 3 != 0, n % 3 == 1
            head = ((7 * n + 3 * a) % 10) / 10 + 0.05
            rows.append(_row(article, n, answerable, right, head))
    return rows


def test_held_out_reading_round_trips_and_scores() -> None:
    row = _row("A", 1, True, True, 0.4)
    assert HeldOutReading.from_json(row.to_json()) == row
    assert row.f1 == 1.0 and row.answerable
    wrong = _row("A", 2, True, False, 0.4)
    assert wrong.f1 == 0.0
    assert _row("A", 3, False, False, 0.4).answerable is False
    assert row.reading.p_head == 0.4 and row.reading.answer == "blue sky"


def test_pooled_calibration_picks_the_score_that_transfers_across_articles() -> None:
    rows = _readings()
    result = pooled_calibration(rows, _relevance, quiet=True)
    record = result.record
    # the verifier (head + relevance) separates failed answers on every held-out article
    assert result.score.value == "verifier" and result.verifier is not None
    assert record["scores"]["verifier"]["cv_f1"] > record["scores"]["head"]["cv_f1"]
    # its scores and figures are leave-one-article-out, recomputed here by hand
    features = (VerifierFeature.HEAD, VerifierFeature.SENTENCE_RELEVANCE)
    x = [feature_values(features, r.reading, r.question, [r.passage], _relevance) for r in rows]
    fails = [not r.answerable or r.f1 < 0.5 for r in rows]
    groups = [r.article for r in rows]
    oof = out_of_fold(features, x, fails, groups, folds=3)
    f1, ok = [r.f1 for r in rows], [r.answerable for r in rows]
    assert record["abstain_threshold"] == calibrate_threshold(oof, f1, ok)[0]
    assert record["leave_one_article_out_f1"] == round(
        100 * cross_validated_f1(oof, f1, ok, groups, folds=3), 2
    )
    # per article: 4 unanswerable, 4 answered right, 4 answered wrong (F1 0 either way); a
    # perfect verifier answers the right ones and abstains on the rest: F1 8/12, HasAns 4/8
    assert (record["f1"], record["hasans_f1"], record["noans_acc"]) == (66.67, 50.0, 100.0)
    assert set(record["per_article"]) == {"A", "B", "C"}
    assert all(v["questions"] == 12 and v["f1"] == 66.67 for v in record["per_article"].values())
    assert record["verifier"]["fitted_on"] == ["A", "B", "C"]


def test_pooled_calibration_without_a_head_uses_null_vs_span_and_needs_two_articles() -> None:
    rows = [r.__class__(**{**r.__dict__, "p_head": None}) for r in _readings()]
    result = pooled_calibration(rows, _relevance, quiet=True)
    assert "head" not in result.record["scores"]
    assert result.record["verifier"]["features"] == ["null_vs_span", "sentence_relevance"]
    with pytest.raises(ConfigError, match="two articles"):
        pooled_calibration([r for r in rows if r.article == "A"], _relevance, quiet=True)


def test_crossfit_plan_is_checked_and_kept_beside_its_parts(tmp_path: Path) -> None:
    plan = CrossFitConfig("abc", ("A", "B"), ("T",), TrainConfig(rank=4))
    assert plan.parts == ["A", "B", "final"]
    plan.check_folder(tmp_path)
    plan.check_folder(tmp_path)  # the same plan resumes
    other = CrossFitConfig("abc", ("A", "B"), ("T",), TrainConfig(rank=8))
    with pytest.raises(ConfigError, match="other settings"):
        other.check_folder(tmp_path)
    with pytest.raises(ConfigError, match="two training articles"):
        CrossFitConfig("abc", ("A",), (), TrainConfig())
    with pytest.raises(ConfigError, match="both trained on and held out"):
        CrossFitConfig("abc", ("A", "B"), ("B",), TrainConfig())
    assert part_folder(tmp_path, "1973 oil/crisis").name == "1973_oil_crisis"


def test_head_setting_is_the_folds_most_common_choice_ties_to_the_better_auc() -> None:
    import torch

    def head(layer: int, l2: float) -> AbstainHead:
        return AbstainHead(layer, torch.zeros(2), 0.0, torch.zeros(2), torch.ones(2), l2)

    heads = {"A": head(17, 0.1), "B": head(22, 0.01), "C": head(22, 0.01), "D": head(17, 0.1)}
    aucs = {"A": 0.77, "B": 0.64, "C": 0.68, "D": 0.86}
    assert head_setting(heads, aucs) == (17, 0.1)  # 2 votes each; mean AUC 0.815 vs 0.66
    heads["E"] = head(22, 0.01)
    assert head_setting(heads, aucs) == (22, 0.01)  # three votes beat two


def _three_articles() -> dict:
    data = squad_fixture()
    data["data"].append(
        {
            "title": "Ports",
            "paragraphs": [
                {
                    "context": "The port of Paris is on the Seine . It opened in 1900 .",
                    "qas": [
                        {"id": "p1", "question": "Which river is the port on ?",
                         "is_impossible": False, "answers": [{"text": "the Seine",
                                                              "answer_start": 0}]},
                        {"id": "p2", "question": "Who runs the port ?", "is_impossible": True,
                         "answers": [], "plausible_answers": [{"text": "x", "answer_start": 0}]},
                    ],
                }
            ],
        }
    )  # fmt: skip
    return data


def test_crossfit_cli_runs_parts_resumes_and_calibrates_the_final_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps(_three_articles()))
    words = [*fixture_words(), "port", "Ports", "river", "on", "opened", "in", "1900", "runs"]
    base = tiny_model(tmp_path / "tiny-base", words)
    final, folds = tmp_path / "reader", tmp_path / "reader-folds"
    common = ["adapters", "crossfit", "--data", str(squad), "--out", str(final), "--base",
              str(base), "--max-examples", "4", "--quiet"]  # fmt: skip
    assert main([*common, "--part", "Gateways"]) == 0
    fold = part_folder(folds, "Gateways")
    rows = [HeldOutReading.from_json(x) for x in (fold / READINGS_FILE).read_text().splitlines()]
    assert [r.id for r in rows] == ["g1", "g2", "g3", "g4", "g5"]
    assert all(r.article == "Gateways" and r.p_head is not None for r in rows)
    card = json.loads((fold / "training_card.json").read_text())
    assert card["data"]["train_articles"] == ["Rivers", "Ports"]  # never its own article
    assert card["data"]["held_out_articles"] == ["Gateways"]
    assert "parts left: Rivers, Ports, final" in capsys.readouterr().out
    assert main([*common, "--part", "nope"]) == 2  # an unknown part is refused before work
    # calibrating on the folds done so far needs the final adapter and two folds
    assert main([*common, "--calibrate-only"]) == 2
    assert main([*common, "--part", "Rivers", "--part", "final"]) == 0
    assert main([*common, "--calibrate-only"]) == 0
    card = json.loads((final / "training_card.json").read_text())
    calibration = card["metrics"]["calibration"]
    assert calibration["folds_left_out"] == ["Ports"] and calibration["questions"] == 7
    assert calibration["articles"] == ["Gateways", "Rivers"]

    trained = (fold / "adapter_model.safetensors").stat().st_mtime_ns
    assert main(common) == 0  # runs the part left, then calibrates on every fold
    printed = capsys.readouterr().out
    assert "part Gateways: already done" in printed and "part Ports: done" in printed
    assert (fold / "adapter_model.safetensors").stat().st_mtime_ns == trained  # not retrained
    card = json.loads((final / "training_card.json").read_text())
    assert card["data"]["train_articles"] == ["Gateways", "Rivers", "Ports"]
    calibration = card["metrics"]["calibration"]
    assert calibration["method"] == "cross-fit" and calibration["questions"] == 9
    assert calibration["folds_left_out"] == []
    assert set(calibration["per_article"]) == {"Gateways", "Rivers", "Ports"}
    folds_heads = calibration["head"]["folds"]
    assert set(folds_heads) == {"Gateways", "Rivers", "Ports"}
    assert [calibration["head"]["layer"], calibration["head"]["l2"]] in [
        [h["layer"], h["l2"]] for h in folds_heads.values()
    ]
    saved = json.loads((final / "reader_config.json").read_text())
    assert saved["score"] == calibration["score"]
    assert saved["abstain_threshold"] == calibration["abstain_threshold"]
    assert (final / "abstain_head.safetensors").is_file()
    assert card["crossfit"]["articles"] == ["Gateways", "Rivers", "Ports"]
    # the same folds with another recipe are refused rather than mixed
    assert main([*common, "--rank", "4"]) == 2
