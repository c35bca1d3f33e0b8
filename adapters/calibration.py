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
) -> tuple[float, float]:
    """The threshold that maximizes mean SQuAD 2.0 F1 over held-out questions, and that F1.

    A question scores ``answer_f1`` when answered and 1/0 when it abstains on an
    unanswerable/answerable question."""
    if not (len(p_abstain) == len(answer_f1) == len(answerable)) or not p_abstain:
        raise ConfigError("calibration needs one score per question", "pass held-out questions")
    grid = grid or [i / 100 for i in range(1, 100)]
    best = (0.5, -1.0)
    for t in grid:
        total = sum(
            (0.0 if ok else 1.0) if p >= t else (f if ok else 0.0)
            for p, f, ok in zip(p_abstain, answer_f1, answerable, strict=True)
        )
        if total / len(p_abstain) > best[1]:
            best = (t, total / len(p_abstain))
    return best


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
    p = [r.p_abstain for r, _ in scored]
    f1 = [token_f1(r.answer, golds) if r.answer else 0.0 for r, golds in scored]
    ok = [bool(golds) for _, golds in scored]
    threshold, best = calibrate_threshold(p, f1, ok)
    noans = [
        pa >= threshold or r.answer is None for pa, (r, g) in zip(p, scored, strict=True) if not g
    ]
    record = {
        "abstain_threshold": threshold,
        "articles": [a.title for a in articles],
        "questions": len(scored),
        "f1": round(100 * best, 2),
        "noans_acc": round(100 * sum(noans) / len(noans), 2) if noans else None,
    }
    config = replace(reader.config, abstain_threshold=threshold)
    config.save(adapter_dir)
    reader.config = config
    write_card(adapter_dir, {"metrics": {"calibration": record}})
    return record
