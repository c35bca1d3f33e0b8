"""Which answer-verifier inputs transfer across articles? Compares input sets on the
out-of-training readings a cross-fit left in its folds folder (``ragcore adapters crossfit``),
without a model run: each set's verifier is fitted on all articles but one and scored on
that one (leave-one-article-out), then its threshold is chosen on the other articles' scores
too, as ``adapters.crossfit`` does. Needs only the packaged cross-encoder.

    python benchmarks/verifier_inputs.py --folds my-reader-folds

Inputs: ``head`` (logit of the fold head's P(unanswerable)), ``sentence`` (cross-encoder
logit for the span's sentence), ``best`` (the passage's best sentence, Min et al. 2018),
``null_vs_span`` (logit), ``p_answer`` (log-probability of the span).

A second table compares threshold rules the same way (chosen on three articles, scored on the
fourth): the peak of the F1 curve averaged over a few grid steps each side
(``calibrate_threshold``'s ``window``), against the highest threshold within 0.01 F1 of the
best (the rule before).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from ragcore.adapters.abstain_head import roc_auc
from ragcore.adapters.calibration import (
    DEFAULT_GRID,
    ThresholdRule,
    calibrate_threshold,
    cross_validated_f1,
    f1_curve,
)
from ragcore.adapters.crossfit import READINGS_FILE, HeldOutReading
from ragcore.adapters.decoding import AbstainScore
from ragcore.adapters.evidence import relevance, sentences, span_sentence
from ragcore.adapters.verifier import FAIL_F1, VerifierFeature, feature_values, out_of_fold
from rich.console import Console
from rich.table import Table

SETS = (
    ("head",),
    ("sentence",),
    ("head", "sentence"),
    ("head", "sentence", "best"),
    ("head", "sentence", "null_vs_span"),
    ("head", "sentence", "p_answer"),
    ("head", "sentence", "best", "null_vs_span", "p_answer"),
)


def inputs(rows: list[HeldOutReading]) -> dict[str, list[float]]:
    """Every candidate input's value per reading."""
    values: dict[str, list[float]] = {k: [] for k in ("sentence", "best")}
    for r in rows:
        own = span_sentence(r.passage, r.answer or "")
        scores = relevance(r.question, list(dict.fromkeys([own, *sentences(r.passage)])))
        values["sentence"].append(scores[0])
        values["best"].append(max(scores))
    own = (VerifierFeature.HEAD, VerifierFeature.NULL_VS_SPAN)  # the reader's, as logits
    pairs = [feature_values(own, r.reading, r.question, [r.passage]) for r in rows]
    values["head"] = [head for head, _ in pairs]
    values["null_vs_span"] = [nvs for _, nvs in pairs]
    values["p_answer"] = [math.log(max(r.p_answer or 0.0, 1e-9)) for r in rows]
    return values


def _within_tolerance(scores: Sequence[float], f1: Sequence[float], ok: Sequence[bool]) -> float:
    """The rule before: the highest threshold within 0.01 F1 of the best on the 0.01 grid."""
    curve = f1_curve(scores, f1, ok)
    best = max(curve)
    return max(t for t, v in zip(DEFAULT_GRID, curve, strict=True) if v >= best - 0.01)


RULES: dict[str, ThresholdRule] = {
    "highest within 0.01 F1 (before)": _within_tolerance,
    "peak (window 0)": lambda s, f, o: calibrate_threshold(s, f, o, window=0)[0],
    "moving average, 3 steps (default)": lambda s, f, o: calibrate_threshold(s, f, o)[0],
    "moving average, 5 steps": lambda s, f, o: calibrate_threshold(s, f, o, window=5)[0],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=Path, required=True, help="a crossfit folds folder")
    args = parser.parse_args()
    rows = []
    for path in sorted(args.folds.glob(f"*/{READINGS_FILE}")):
        rows += [HeldOutReading.from_json(line) for line in path.read_text().splitlines() if line]
    groups = [r.article for r in rows]
    articles = list(dict.fromkeys(groups))
    if len(articles) < 2:
        raise SystemExit(f"{args.folds} holds readings of {len(articles)} article(s); need 2+")
    values = inputs(rows)
    f1, ok = [r.f1 for r in rows], [r.answerable for r in rows]
    fails = [not a or f < FAIL_F1 for f, a in zip(f1, ok, strict=True)]
    table = Table(
        title=f"verifier inputs, {len(rows)} readings of {len(articles)} articles "
        "(per article: AUC failed answers)"
    )
    for col in ("inputs", "leave-one-article-out F1", "AUC failed answers", *articles):
        table.add_column(col, justify="right")
    oofs = {}
    for names in SETS:
        x = [[values[n][i] for n in names] for i in range(len(rows))]
        features = [VerifierFeature.HEAD] * len(names)  # fit_verifier only counts them
        oof = oofs[names] = out_of_fold(features, x, fails, groups, folds=len(articles))
        loao = cross_validated_f1(oof, f1, ok, groups, folds=len(articles))
        per = []
        for a in articles:
            idx = [i for i, g in enumerate(groups) if g == a]
            per.append(roc_auc([oof[i] for i in idx], [fails[i] for i in idx]))
        table.add_row(
            " + ".join(names),
            f"{100 * (loao or 0):.1f}",
            f"{roc_auc(oof, fails):.3f}",
            *(f"{v:.3f}" for v in per),
        )
    console = Console(width=200)
    console.print(table)
    by_score = {
        "verifier (head + sentence)": oofs[("head", "sentence")],
        **{
            score.value: [r.reading.abstain_score(score) for r in rows]
            for score in (AbstainScore.HEAD, AbstainScore.NULL_VS_SPAN, AbstainScore.P_ABSTAIN)
        },
    }
    rules = Table(title="threshold rules: leave-one-article-out F1")
    for col in ("rule", *by_score):
        rules.add_column(col, justify="right")
    for name, rule in RULES.items():
        loao = (
            cross_validated_f1(s, f1, ok, groups, folds=len(articles), choose=rule)
            for s in by_score.values()
        )
        rules.add_row(name, *(f"{100 * (v or 0):.2f}" for v in loao))
    console.print(rules)


if __name__ == "__main__":
    main()
