"""Evidence sentences: split passages into sentences and score them against the question with
the packaged ms-marco-MiniLM-L-12-v2 cross-encoder, for the answer verifier
(``adapters.verifier``), which scores the sentence holding the decoded span.

Scores are kept in a small cache keyed by (question, sentence), so calibration's readings and
their verifier features do not run the cross-encoder twice for the same pair. (Sentence focus,
which steered spans into the best-scored sentences, was measured and removed: README.)
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ragcore.adapters.reader.spans import locate

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_CACHE_SIZE = 4096


def _bounds(text: str) -> list[int]:
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]


def sentences(passage: str) -> list[str]:
    """The passage's sentences, whitespace normalized (a regex split at . ! ? before a capital
    or digit, so "Dr. Who" counts as a sentence end)."""
    text = " ".join(passage.split())
    return [s for lo, hi in itertools.pairwise(_bounds(text)) if (s := text[lo:hi].strip())]


def span_sentence(passage: str, span: str) -> str:
    """The sentence of ``passage`` that holds ``span`` (the passage when no sentence does): at
    its first occurrence as inline code if it has one (a span taken from a code unit, see
    ``adapters.reader.spans``), else where ``spans.locate`` finds it (as whole words first)."""
    text = " ".join(passage.split())
    code = text.find(f"`{span}`") if span else -1
    at = (code + 1, code + 1 + len(span)) if code >= 0 else locate(span, text)
    if at is None:
        return text
    start = at[0]
    bounds = _bounds(text)
    for lo, hi in itertools.pairwise(bounds):
        if lo <= start < hi:
            # a span running over a sentence end keeps the following sentences it covers
            end = next((b for b in bounds if b >= at[1]), len(text))
            return text[lo:end].strip()
    return text


CROSS_ENCODER = "ms-marco-MiniLM-L-12-v2"


def _cross_encoder() -> Any:
    """The packaged cross-encoder, the same instance the index reranks with (one ONNX
    session per process: loading a second one cost a cold ``ask`` about a second)."""
    from ragcore.plugins import reranker

    return reranker(CROSS_ENCODER)


_scores: OrderedDict[tuple[str, str], float] = OrderedDict()
_lock = threading.Lock()


def relevance(question: str, texts: Sequence[str]) -> list[float]:
    """The cross-encoder's relevance logit for (question, text) per text, batched and cached."""
    with _lock:
        known = {t: _scores[(question, t)] for t in texts if (question, t) in _scores}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known |= dict(
            zip(missing, map(float, _cross_encoder().score(question, missing)), strict=True)
        )
    with _lock:
        for text in dict.fromkeys(texts):
            _scores[(question, text)] = known[text]
            _scores.move_to_end((question, text))
        while len(_scores) > _CACHE_SIZE:
            _scores.popitem(last=False)
    return [known[t] for t in texts]


def sentence_relevance(question: str, sentence: str) -> float:
    """The cross-encoder's relevance logit for (question, sentence)."""
    return relevance(question, [sentence])[0]
