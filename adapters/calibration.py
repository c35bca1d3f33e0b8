"""Calibrating a reader's abstention threshold on held-out articles.

Every held-out question is read once with the abstention probability and the constrained
span both computed; the threshold is then chosen by sweeping it over those readings (no
re-decoding), maximizing mean SQuAD 2.0 F1, the null-threshold tuning of extractive SQuAD 2.0
readers (Devlin et al., "BERT", 2019, section 4.3). The threshold is saved in the adapter's
``reader_config.json`` and the held-out scores in its training card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ragcore.adapters.decoding import Reading
from ragcore.adapters.raft import gold_examples
from ragcore.adapters.registry import ReaderGenerator
from ragcore.adapters.training import write_card
from ragcore.evals.squad import token_f1
from ragcore.evals.squad_data import Article

from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.prompting import reader_messages


def calibrate_threshold(
    p_abstain: Sequence[float],
    answer_f1: Sequence[float],
    answerable: Sequence[bool],
    grid: Sequence[float] | None = None,
    tolerance: float = 0.01,
) -> tuple[float, float]:
    """The abstention threshold and its mean SQuAD 2.0 F1 over held-out questions.

    A question scores ``answer_f1`` when answered and 1/0 when it abstains on an
    unanswerable/answerable question. F1 is often flat over a range of thresholds (a few
    hundred questions cannot tell them apart), so among thresholds within ``tolerance`` of the
    best F1 the highest is taken: the reader answers whenever abstaining is no better."""
    if not (len(p_abstain) == len(answer_f1) == len(answerable)) or not p_abstain:
        raise ConfigError("calibration needs one score per question", "pass held-out questions")
    grid = grid or [i / 100 for i in range(1, 100)]
    scored = []
    for t in grid:
        has, no = _question_scores(p_abstain, answer_f1, answerable, t)
        scored.append((t, (sum(has) + sum(no)) / len(p_abstain)))
    best = max(f1 for _, f1 in scored)
    return max((t, f1) for t, f1 in scored if f1 >= best - tolerance)


def _question_scores(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool], t: float
) -> tuple[list[float], list[float]]:
    """Per-question SQuAD 2.0 F1 when abstaining at ``score >= t``: answerable questions score
    their answer's F1 (0 when abstaining), unanswerable ones 1 when abstaining, else 0."""
    rows = list(zip(scores, answer_f1, answerable, strict=True))
    has = [f if s < t else 0.0 for s, f, ok in rows if ok]
    no = [float(s >= t) for s, _, ok in rows if not ok]
    return has, no


def operating_point(
    scores: Sequence[float], answer_f1: Sequence[float], answerable: Sequence[bool], t: float
) -> dict[str, float | None]:
    """Overall F1, HasAns F1 and NoAns accuracy (0-100) when abstaining at ``score >= t``."""
    has, no = _question_scores(scores, answer_f1, answerable, t)

    def pct(values: list[float]) -> float | None:
        return round(100 * sum(values) / len(values), 2) if values else None

    return {"f1": pct(has + no), "hasans_f1": pct(has), "noans_acc": pct(no)}


def readings(
    reader: ReaderGenerator,
    articles: Sequence[Article],
    *,
    limit: int | None = None,
    quiet: bool = False,
) -> list[tuple[Reading, tuple[str, ...]]]:
    """(reading, gold answers) for each question of ``articles`` with its own paragraph."""
    examples = gold_examples(articles)[:limit] if limit else gold_examples(articles)
    out = []
    with Progress(quiet) as progress:
        task = progress.task("calibrating", total=len(examples))
        for ex in examples:
            reading = reader.reading(reader_messages(ex.question, ex.passages))
            out.append((reading, ex.golds))
            progress.advance(task)
    return out


def calibrate_adapter(
    reader: ReaderGenerator,
    adapter_dir: Path,
    articles: Sequence[Article],
    *,
    limit: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Choose and save the abstention threshold; returns what was recorded."""
    scored = readings(reader, articles, limit=limit, quiet=quiet)
    p = [r.abstain_score(reader.config.score) for r, _ in scored]
    f1 = [token_f1(r.answer, golds) if r.answer else 0.0 for r, golds in scored]
    ok = [bool(golds) for _, golds in scored]
    threshold, _ = calibrate_threshold(p, f1, ok)
    record = {
        "abstain_threshold": threshold,
        "score": reader.config.score.value,
        "articles": [a.title for a in articles],
        "questions": len(scored),
        **operating_point(p, f1, ok, threshold),
        "curve": [operating_point(p, f1, ok, t / 20) | {"threshold": t / 20} for t in range(21)],
    }
    config = replace(reader.config, abstain_threshold=threshold)
    config.save(adapter_dir)
    reader.config = config
    write_card(adapter_dir, {"metrics": {"calibration": record}})
    return record
