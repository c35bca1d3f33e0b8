"""Citation grounding of an ``Answer``: do the passages it cites hold the evidence?

A shown passage *supports* a question when its chunk id or document id is among the gold
evidence ids, or when its text contains a gold answer string (both sides SQuAD-normalized,
matched on token boundaries). With that, in the spirit of ALCE (Gao et al., "Enabling Large
Language Models to Generate Text with Citations", EMNLP 2023) but checkable without a model:

- ``citation_precision = |cited and supporting| / |cited|`` (0 for an answer citing nothing);
- ``citation_recall = |cited and supporting| / |shown and supporting|``, undefined (``None``)
  when no shown passage supports the question;
- ``answer_supported``: 1 when the normalized answer occurs in a cited passage, else 0.

All three are ``None`` for an abstention: there is no claim to ground.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ragcore.answer_match import contains_span
from ragcore.types import Answer, Hit


def supports(hit: Hit, evidence_ids: Collection[str], golds: Sequence[str]) -> bool:
    chunk = hit.chunk
    if chunk.id in evidence_ids or chunk.doc_id in evidence_ids:
        return True
    if str(chunk.metadata.get("beir_id", "")) in evidence_ids:
        return True
    return any(contains_span(chunk.text, g) for g in golds)


def citation_precision(
    answer: Answer, evidence_ids: Collection[str], golds: Sequence[str]
) -> float | None:
    if answer.abstained:
        return None
    cited = answer.cited_hits
    if not cited:
        return 0.0
    return sum(supports(h, evidence_ids, golds) for h in cited) / len(cited)


def citation_recall(
    answer: Answer, evidence_ids: Collection[str], golds: Sequence[str]
) -> float | None:
    if answer.abstained:
        return None
    shown = {h.chunk.id for h in answer.hits if supports(h, evidence_ids, golds)}
    if not shown:
        return None
    cited = {h.chunk.id for h in answer.cited_hits}
    return len(cited & shown) / len(shown)


def answer_supported(answer: Answer) -> float | None:
    if answer.text is None:
        return None
    return float(any(contains_span(h.chunk.text, answer.text) for h in answer.cited_hits))
