"""Turning scored runs into rankings, with trec_eval's tie-breaking."""

from __future__ import annotations

from collections.abc import Mapping


def ranking_from_scores(scores: Mapping[str, float]) -> list[str]:
    """Documents by descending score; ties broken by descending document id, as trec_eval
    does, so that tied runs score identically here and there."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]
