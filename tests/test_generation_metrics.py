"""Generation and grounding metrics: values worked out by hand on tiny fixtures, and a stand-in
extractive generator over the real demo index (until the generator lands)."""

from __future__ import annotations

import json
import re

import pytest
from ragcore.evals.abstention import abstention_scores
from ragcore.evals.citations import answer_supported, citation_precision, citation_recall
from ragcore.evals.generation_eval import GenerationExample, load_examples, score_answers

from ragcore import AbstainReason, Answer, Chunk, Citation, Hit, Index
from ragcore.answer_match import exact_match, normalize, token_f1
from ragcore.errors import SourceError


def hit(n: int, text: str, doc: str = "d") -> Hit:
    chunk = Chunk(f"c{n}", f"{doc}{n}", text, 0, len(text), metadata={"source": f"s{n}"})
    return Hit(chunk, 1.0 / n, n)


def answer(text: str | None, hits: list[Hit], cited: list[int]) -> Answer:
    cites = [Citation(n, hits[n - 1].chunk.id, hits[n - 1].chunk.source) for n in cited]
    reason = AbstainReason.NO_ANSWER if text is None else None
    return Answer("q", text, tuple(cites), tuple(hits), abstain_reason=reason)


def test_squad_normalization_em_f1() -> None:
    assert normalize("The  Cat, sat!  on a mat") == "cat sat on mat"
    assert exact_match("the Eiffel Tower.", ["Eiffel tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel tower"]) == 0.0
    # pred {big, red, dog}, gold {red, dog}: P = 2/3, R = 1, F1 = 0.8
    assert token_f1("big red dog", ["red dog"]) == pytest.approx(0.8)
    # max over golds: vs "dog" P = 1/3, R = 1 -> 0.5; vs "red dog" 0.8
    assert token_f1("big red dog", ["dog", "red dog"]) == pytest.approx(0.8)
    # repeated tokens count as a bag: pred {a1 x2}, gold {x1}: common 1, P 1/2, R 1 -> 2/3
    assert token_f1("x x", ["x"]) == pytest.approx(2 / 3)
    assert token_f1("dog", ["cat"]) == 0.0


def test_unanswerable_scores_only_abstention() -> None:
    assert exact_match(None, []) == 1.0 and token_f1(None, []) == 1.0
    assert exact_match("", ["", "the"]) == 1.0  # golds that normalize to nothing = no answer
    assert exact_match("Paris", []) == 0.0 and token_f1("Paris", []) == 0.0
    assert token_f1(None, ["Paris"]) == 0.0


def test_abstention_precision_recall_f1() -> None:
    # q1 abstained & unanswerable (TP); q2 abstained & answerable (FP); q3 answered &
    # unanswerable (FN); q4 answered & answerable (TN): P = 1/2, R = 1/2, F1 = 1/2
    s = abstention_scores([True, True, False, False], [False, True, False, True])
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)
    assert (s.abstained, s.unanswerable, s.correct) == (2, 2, 1)
    never = abstention_scores([False, False], [False, True])
    assert (never.precision, never.recall, never.f1) == (0.0, 0.0, 0.0)
    # 2 of 3 abstentions right, all 2 unanswerable refused: P 2/3, R 1, F1 0.8
    s = abstention_scores([True, True, True, False], [False, False, True, True])
    assert s.f1 == pytest.approx(0.8)
    with pytest.raises(ValueError, match="one entry per question"):
        abstention_scores([True], [])


def test_citation_precision_recall_support() -> None:
    hits = [
        hit(1, "The gateway listens on port 8443 by default."),
        hit(2, "Billing happens monthly."),
        hit(3, "Set LUMEN_PORT to change port 8443."),
    ]
    golds = ["8443"]
    a = answer("port 8443", hits, [1, 2])
    # cited {1, 2}, supporting {1, 3}: precision 1/2, recall 1/2; "port 8443" is in passage 1
    assert citation_precision(a, set(), golds) == 0.5
    assert citation_recall(a, set(), golds) == 0.5
    assert answer_supported(a) == 1.0
    # evidence by document id: passage 2's document is gold, so all cited support
    assert citation_precision(a, {"d2"}, golds) == 1.0
    assert citation_recall(a, {"d2"}, golds) == pytest.approx(2 / 3)
    # token boundaries: "844" is not in "8443"
    assert answer_supported(answer("844", hits, [1])) == 0.0
    # an answer citing nothing grounds nothing; an abstention is not scored
    uncited = answer("port 8443", hits, [])
    assert citation_precision(uncited, set(), golds) == 0.0
    assert answer_supported(uncited) == 0.0
    refused = answer(None, hits, [])
    assert citation_precision(refused, set(), golds) is None
    assert citation_recall(refused, set(), golds) is None
    assert answer_supported(refused) is None
    # no shown passage supports: recall is undefined, not 0
    assert citation_recall(answer("x", hits[1:2], [1]), set(), golds) is None


def test_answer_value_checks_and_round_trip() -> None:
    hits = [hit(1, "alpha beta"), hit(2, "gamma")]
    with pytest.raises(ValueError, match="does not name one of the 2 hits"):
        Answer("q", "alpha", (Citation(3, "c3", "s3"),), tuple(hits))
    with pytest.raises(ValueError, match="does not name"):
        Answer("q", "alpha", (Citation(1, "c2", "s2"),), tuple(hits))
    with pytest.raises(ValueError, match="abstention cites no passage"):
        Answer("q", None, (Citation(1, "c1", "s1"),), tuple(hits))
    a = Answer("q", "alpha", (Citation(1, "c1", "s1"),), tuple(hits), timings_ms={"total": 3.0})
    assert a.cited_hits == (hits[0],) and not a.abstained
    data = json.loads(json.dumps(a.to_json()))
    assert data["answer"] == "alpha" and data["citations"] == [
        {"n": 1, "chunk_id": "c1", "source": "s1"}
    ]
    assert Answer.from_json(data) == a
    refused = answer(None, hits, [])
    assert Answer.from_json(refused.to_json()) == refused


def test_score_answers_by_hand() -> None:
    hits = [hit(1, "Pro costs $8 per user per month."), hit(2, "Community is free.")]
    examples = [
        GenerationExample("a", "price of pro?", ("$8 per user",)),
        GenerationExample("b", "price of community?", ("free",)),
        GenerationExample("c", "who founded Lumen?"),
        GenerationExample("d", "ceo?"),
    ]
    answers = [
        answer("$8 per user", hits, [1]),  # EM 1, F1 1, cited 1 supports, supported
        answer("it is free of charge", hits, [1]),  # 5 tokens, 1 shared: P 1/5, R 1, F1 1/3
        answer(None, hits, []),  # right abstention
        answer("Ada", hits, [2]),  # answered an unanswerable question
    ]
    r = score_answers(examples, answers)
    m = r["metrics"]
    assert r["n"] == 4 and r["n_answerable"] == 2
    assert m["exact"] == pytest.approx((1 + 0 + 1 + 0) / 4)
    assert m["f1"] == pytest.approx((1 + 1 / 3 + 1 + 0) / 4)
    assert m["hasans_f1"] == pytest.approx(2 / 3) and m["hasans_exact"] == 0.5
    assert m["noans_acc"] == 0.5
    # citations scored on answerable questions only: a -> 1, b cites passage 1 (no "free") -> 0
    assert m["citation_precision"] == 0.5
    assert r["per_query"]["citation_recall"] == {"a": 1.0, "b": 0.0}
    assert r["per_query"]["answer_supported"] == {"a": 1.0, "b": 0.0}
    # abstention: 1 abstained, right; 2 unanswerable -> P 1, R 0.5, F1 2/3
    assert (m["abstention_precision"], m["abstention_recall"]) == (1.0, 0.5)
    assert m["abstention_f1"] == pytest.approx(2 / 3)
    low, high = r["ci95"]["f1"]
    assert low <= m["f1"] <= high
    with pytest.raises(ValueError, match="4 examples but 3 answers"):
        score_answers(examples, answers[:3])


def test_load_examples_errors_name_the_fix(tmp_path) -> None:
    good = tmp_path / "gold.jsonl"
    good.write_text('{"id": 1, "question": "q", "answers": ["x"], "evidence_ids": [7]}\n\n')
    [ex] = load_examples(good)
    assert ex.id == "1" and ex.answerable and ex.evidence_ids == frozenset({"7"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "q"}\n{"question": "no id"}\n')
    with pytest.raises(SourceError, match=r"line 2") as info:
        load_examples(bad)
    assert "one JSON object per line" in info.value.hint


_WORD = re.compile(r"[a-z0-9$]+")
_STOP = {"the", "a", "an", "is", "of", "what", "how", "does", "do", "for", "in", "to", "which"}


def stand_in_generator(index: Index, question: str, k: int = 3) -> Answer:
    """Extractive stand-in: the sentence of the top passages sharing the most content words
    with the question; abstains below two shared words."""
    hits = index.search(question, k=k).hits
    q = set(_WORD.findall(question.lower())) - _STOP
    best = (0, 0, "")
    for n, h in enumerate(hits, start=1):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", h.chunk.text):
            overlap = len(q & set(_WORD.findall(sentence.lower())))
            if overlap > best[0]:
                best = (overlap, n, sentence.strip())
    if best[0] < 2:
        return Answer(question, None, (), tuple(hits), abstain_reason=AbstainReason.NO_ANSWER)
    n = best[1]
    return Answer(question, best[2], (Citation(n, hits[n - 1].chunk.id, ""),), tuple(hits))


@pytest.mark.slow
def test_stand_in_generator_on_demo_index(demo_index: Index) -> None:
    examples = [
        GenerationExample(
            "pro", "What does the Pro plan cost per user per month when billed annually?", ("$8",)
        ),
        GenerationExample("retention", "Community plan audit log retention days?", ("7 days",)),
        GenerationExample("mars", "Which rover landed on Mars in 2021?"),
    ]
    answers = [stand_in_generator(demo_index, e.question) for e in examples]
    r = score_answers(examples, answers)
    m = r["metrics"]
    assert m["noans_acc"] == 1.0, answers[2]
    assert m["answer_supported"] == 1.0  # an extracted sentence always occurs in its passage
    assert m["citation_precision"] == 1.0, [a.text for a in answers]
    assert 0 < m["hasans_f1"] < 1  # whole sentences against short golds


def test_cli_eval_answers(tmp_path, capsys) -> None:
    from ragcore.cli import main

    hits = [hit(1, "Pro costs $8 per user per month."), hit(2, "Community is free.")]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"id": "a", "question": "price of pro?", "answers": ["$8 per user"]}\n'
        '{"id": "c", "question": "who founded Lumen?", "answers": []}\n'
    )
    got = tmp_path / "answers.jsonl"
    rows = [
        {"id": "c", **answer(None, hits, []).to_json()},  # out of order: matched by id
        {"id": "a", **answer("$8 per user", hits, [1]).to_json()},
    ]
    got.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "scores.json"
    args = ["eval", "answers", str(gold), str(got), "--json", str(out), "--ragas"]
    assert main(args) == 0
    r = json.loads(out.read_text())
    assert r["metrics"]["exact"] == 1.0 and r["metrics"]["noans_acc"] == 1.0
    assert r["metrics"]["citation_precision"] == 1.0
    assert r["ragas"]["metrics"]["exact_match"] == 1.0
    assert main([*args[:4], "--fail-under", "f1=0.99"]) == 0
    assert main([*args[:4], "--fail-under", "citation_recall=1.01"]) == 1
    capsys.readouterr()
    assert main([*args[:4], "--fail-under", "bleu=0.5"]) == 2
    assert "use one of exact, f1" in capsys.readouterr().err
    got.write_text(json.dumps({"id": "a", **rows[1]}) + "\n")
    assert main(args[:4]) == 2
    assert "1 gold questions have no answer" in capsys.readouterr().err
