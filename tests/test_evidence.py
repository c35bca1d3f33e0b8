"""Evidence sentences: splitting, the span's sentence, and the real cross-encoder's scores,
and cache."""

from __future__ import annotations

import pytest
from ragcore.adapters.reader import evidence
from ragcore.adapters.reader.evidence import (
    relevance,
    sentence_relevance,
    sentences,
    span_sentence,
)

PASSAGE = "The gateway listens on port 9000. Resets take ten minutes. Dr. Who built it in 1999."


def test_sentences_split_at_ends_before_a_capital_or_digit() -> None:
    assert sentences("  One  two.\nThree? four. 5 six!  ") == ["One two.", "Three? four.", "5 six!"]
    assert sentences(PASSAGE) == [
        "The gateway listens on port 9000.",
        "Resets take ten minutes.",
        "Dr.",  # a regex split: an abbreviation before a capital ends a sentence
        "Who built it in 1999.",
    ]
    assert sentences("   ") == []


def test_span_sentence_finds_the_sentence_holding_the_span() -> None:
    assert span_sentence(PASSAGE, "9000") == "The gateway listens on port 9000."
    assert span_sentence(PASSAGE, "ten minutes") == "Resets take ten minutes."
    # a span over a sentence end keeps both sentences
    assert span_sentence(PASSAGE, "9000. Resets") == (
        "The gateway listens on port 9000. Resets take ten minutes."
    )
    assert span_sentence(PASSAGE, "") == " ".join(PASSAGE.split())  # no span: the passage
    assert span_sentence(PASSAGE, "absent") == PASSAGE
    # within one sentence it is one of sentences()
    for span in ("port", "minutes", "1999"):
        assert span_sentence(PASSAGE, span) in sentences(PASSAGE)
    # a span taken from inline code is found there, not at an earlier plain occurrence
    docs = "Edit the config file first. Then run `config` to list settings."
    assert span_sentence(docs, "config") == "Then run `config` to list settings."
    assert span_sentence(docs, "file") == "Edit the config file first."
    # a span is found as whole words before inside a longer word
    docs = "The reconfig step runs first. Then config lists settings."
    assert span_sentence(docs, "config") == "Then config lists settings."


@pytest.mark.slow
def test_cross_encoder_prefers_the_sentence_that_answers() -> None:
    question = "How long does a reset take?"
    good = sentence_relevance(question, "Resets take ten minutes.")
    bad = sentence_relevance(question, "The gateway listens on port 9000.")
    assert good > bad + 1.0


@pytest.mark.slow
def test_relevance_is_batched_and_cached(monkeypatch) -> None:
    passages = [
        "Billing runs monthly. The Pro plan costs twelve dollars a seat.",
        PASSAGE,
    ]
    question = "How long does a reset take?"
    everything = sentences(passages[0]) + sentences(passages[1])
    scores = relevance(question, everything)
    assert max(everything, key=lambda s: scores[everything.index(s)]) == "Resets take ten minutes."
    # every score is cached now: the verifier's later pass runs no model
    real = evidence._cross_encoder()
    from ragcore.plugins import reranker

    assert real is reranker(evidence.CROSS_ENCODER)  # one session, shared with the index
    calls: list[int] = []

    class Counting:
        def score(self, q: str, texts: list[str]) -> list[float]:
            calls.append(len(texts))
            return real.score(q, texts)

    monkeypatch.setattr(evidence, "_cross_encoder", lambda: Counting())
    assert (
        sentence_relevance(question, "Resets take ten minutes.")
        == scores[everything.index("Resets take ten minutes.")]
    )
    assert calls == []
    relevance(question, ["A sentence not seen before.", "Resets take ten minutes."])
    assert calls == [1]  # only the new one is scored
