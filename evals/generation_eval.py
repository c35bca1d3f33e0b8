"""Score generated ``Answer`` values against gold answers and evidence, offline.

Per question: SQuAD exact match and token F1 (``squad``), citation precision/recall and
answer support (``citations``); over the set: abstention precision/recall/F1
(``abstention``). Means come with bootstrap 95% CIs, per-question scores are kept, and
undefined values (citation scores of an abstention) are left out of a metric's mean.
This module scores values; it never imports a generator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragcore.evals.abstention import abstention_scores
from ragcore.evals.citations import answer_supported, citation_precision, citation_recall
from ragcore.evals.stats import bootstrap_cis

from ragcore.answer_match import exact_match, normalize, token_f1
from ragcore.errors import SourceError
from ragcore.types import Answer

PER_QUESTION_METRICS = (
    "exact",
    "f1",
    "hasans_exact",
    "hasans_f1",
    "noans_acc",
    "citation_precision",
    "citation_recall",
    "answer_supported",
)
SET_METRICS = ("abstention_precision", "abstention_recall", "abstention_f1")
METRICS = PER_QUESTION_METRICS + SET_METRICS


@dataclass(frozen=True)
class GenerationExample:
    """A question with its gold answers (none: unanswerable), optional evidence ids (chunk
    ids, document ids or BEIR corpus ids of passages that hold the answer) and optional gold
    passage texts (``contexts``, used by ragas' text-based context metrics)."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    evidence_ids: frozenset[str] = field(default_factory=frozenset)
    contexts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))
        object.__setattr__(self, "evidence_ids", frozenset(self.evidence_ids))
        object.__setattr__(self, "contexts", tuple(self.contexts))

    @property
    def answerable(self) -> bool:
        return any(normalize(a) for a in self.answers)


def load_examples(path: str | Path) -> list[GenerationExample]:
    """JSON lines: ``{"id", "question", "answers": [...], "evidence_ids": [...],
    "contexts": [...]}``; only ``id`` and ``question`` are required."""
    examples = []
    n = 0
    try:
        with open(path) as fh:
            for line in fh:
                n += 1
                if not line.strip():
                    continue
                row = json.loads(line)
                examples.append(
                    GenerationExample(
                        str(row["id"]),
                        row["question"],
                        tuple(row.get("answers", ())),
                        frozenset(map(str, row.get("evidence_ids", ()))),
                        tuple(row.get("contexts", ())),
                    )
                )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(
            f"cannot read gold examples from {path} (line {n}): {exc!r}",
            'write one JSON object per line: {"id", "question", "answers": [], "evidence_ids": []}',
        ) from None
    return examples


def score_answers(
    examples: Sequence[GenerationExample], answers: Sequence[Answer]
) -> dict[str, Any]:
    """JSON-ready ``{"n", "n_answerable", "metrics", "ci95", "per_query", "abstention"}``;
    every score on a 0-1 scale."""
    if len(examples) != len(answers):
        raise ValueError(f"{len(examples)} examples but {len(answers)} answers")
    per_query: dict[str, dict[str, float]] = {name: {} for name in PER_QUESTION_METRICS}
    for ex, ans in zip(examples, answers, strict=True):
        em, f1 = exact_match(ans.text, ex.answers), token_f1(ans.text, ex.answers)
        per_query["exact"][ex.id], per_query["f1"][ex.id] = em, f1
        if ex.answerable:
            per_query["hasans_exact"][ex.id], per_query["hasans_f1"][ex.id] = em, f1
        else:
            per_query["noans_acc"][ex.id] = float(ans.abstained)
            continue  # nothing to ground: an answer to an unanswerable question is just wrong
        for name, fn in (
            ("citation_precision", citation_precision),
            ("citation_recall", citation_recall),
        ):
            value = fn(ans, ex.evidence_ids, ex.answers)
            if value is not None:
                per_query[name][ex.id] = value
        supported = answer_supported(ans)
        if supported is not None:
            per_query["answer_supported"][ex.id] = supported
    metrics: dict[str, float | None] = {}
    ci95: dict[str, list[float] | None] = {}
    cis = bootstrap_cis({name: list(v.values()) for name, v in per_query.items()})
    for name, values in per_query.items():
        defined = bool(values)
        metrics[name] = cis[name].mean if defined else None
        ci95[name] = [cis[name].low, cis[name].high] if defined else None
    abst = abstention_scores([a.abstained for a in answers], [e.answerable for e in examples])
    metrics |= {
        "abstention_precision": abst.precision,
        "abstention_recall": abst.recall,
        "abstention_f1": abst.f1,
    }
    return {
        "n": len(examples),
        "n_answerable": sum(e.answerable for e in examples),
        "metrics": metrics,
        "ci95": ci95,
        "per_query": per_query,
        "abstention": {
            "abstained": abst.abstained,
            "unanswerable": abst.unanswerable,
            "correct": abst.correct,
        },
    }
