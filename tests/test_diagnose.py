"""``eval diagnose``: outcomes, the closed-book / oracle / retrieved ladder, the
precision-coverage curve (worked by hand), the gold file's errors, and the command over the
real demo index with the real packaged reader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from ragcore.evals.data.gold import GoldQuestion, load_gold
from ragcore.evals.diagnose import (
    Gap,
    Outcome,
    Rung,
    classify,
    diagnose,
    is_correct,
    summarize,
)
from test_ask import HITS

from ragcore import Index
from ragcore.ask import answer_passages, ask
from ragcore.errors import ConfigError, SourceError
from ragcore.protocols import Generator, Reply
from ragcore.selective import best_supported, operating_point, precision_coverage, wilson_lower
from ragcore.types import Prompt


@pytest.mark.parametrize(
    ("answerable", "answered", "correct", "held", "outcome"),
    [
        (True, True, True, True, Outcome.CORRECT),
        (True, True, True, False, Outcome.CORRECT),  # right from a passage not matched verbatim
        (True, True, False, True, Outcome.WRONG),
        (True, False, False, True, Outcome.READER_MISS),
        (True, False, False, False, Outcome.RETRIEVAL_MISS),
        (True, True, False, False, Outcome.RETRIEVAL_MISS),
        (False, False, False, False, Outcome.CORRECT_ABSTENTION),
        (False, True, False, False, Outcome.HALLUCINATION),
    ],
)
def test_classify(answerable: bool, answered: bool, correct: bool, held: bool, outcome) -> None:
    assert classify(answerable, answered, correct, held) is outcome


def test_an_answer_is_right_at_token_f1_one_half() -> None:
    assert is_correct("port 9001", ["9001"])  # F1 2/3
    assert not is_correct("the admin port is 9001 here", ["9001"])  # P 1/5, R 1: F1 1/3
    assert not is_correct(None, ["9001"]) and not is_correct("9001", [])


# (score, draft right, answerable): four answerable, one not, one without a draft
HAND_POINTS = [
    (0.1, True, True),
    (0.3, False, True),
    (0.3, True, True),
    (0.6, False, False),
    (None, False, True),
    (0.8, True, True),
]


def test_precision_coverage_by_hand() -> None:
    points = HAND_POINTS
    curve = precision_coverage(points)
    assert [p.threshold for p in curve] == [0.1, 0.3, 0.6, 0.8, 1.8]
    # below 0.1: nothing answered; below 0.3: one answer (right)
    assert curve[0].coverage == 0 and curve[0].precision is None
    assert curve[0].unanswerable_abstained == 1.0
    assert curve[1].coverage == pytest.approx(1 / 6) and curve[1].precision == 1.0
    assert curve[1].answerable_correct == pytest.approx(1 / 5)
    # below 0.6: three answers, two right; below 0.8: the unanswerable one too
    assert curve[2].precision == pytest.approx(2 / 3) and curve[2].coverage == pytest.approx(0.5)
    assert curve[3].precision == pytest.approx(2 / 4) and curve[3].unanswerable_abstained == 0.0
    # everything with a draft: five answers, three right, 3 of 5 answerable right
    assert curve[4].coverage == pytest.approx(5 / 6) and curve[4].precision == pytest.approx(0.6)
    assert curve[4].answerable_correct == pytest.approx(3 / 5)
    assert operating_point(curve, 0.9).threshold == 0.3
    assert operating_point(curve, 0.6).threshold == 1.8
    assert operating_point(curve[:1], 0.5) is None


def test_a_bounded_target_needs_evidence_by_hand() -> None:
    # Wilson lower bounds at z = 1.6449 (z^2 = 2.70570), by hand:
    # 1 of 1: (1 + 1.35285 - 1.6449 * sqrt(2.70570 / 4)) / 3.70570 = 0.26985
    # 3 of 5: (0.6 + 0.27057 - 1.6449 * sqrt(0.048 + 0.027057)) / 1.54114 = 0.27248
    assert wilson_lower(1.0, 1) == pytest.approx(0.26985, abs=1e-4)
    assert wilson_lower(0.6, 5) == pytest.approx(0.27248, abs=1e-4)
    assert wilson_lower(0.5, 0) == 0.0
    assert wilson_lower(0.9, 10_000) == pytest.approx(0.9 - 1.6449 * 0.003, abs=5e-4)
    curve = precision_coverage(HAND_POINTS)
    assert [p.answered for p in curve] == [0, 1, 3, 4, 5]
    assert curve[0].precision_lower is None
    # one right answer reaches 90% as observed, not with 95% confidence
    assert operating_point(curve, 0.9).threshold == 0.3
    assert operating_point(curve, 0.9, bounded=True) is None
    assert operating_point(curve, 0.25, bounded=True).threshold == 1.8
    # the most supported point: 3 of 5 (bound 0.272) over 1 of 1 (0.270) and 2 of 3 (0.254)
    closest = best_supported(curve)
    assert closest is not None and closest.threshold == 1.8
    assert best_supported(curve[:1]) is None


def test_precision_coverage_at_an_answerable_share_by_hand() -> None:
    # two answerable questions (one right), two unanswerable; at share 0.8 each answerable
    # question weighs 0.4 and each unanswerable one 0.1
    points = [(0.1, True, True), (0.2, False, False), (0.3, False, True), (0.4, False, False)]
    plain = precision_coverage(points)
    weighted = precision_coverage(points, answerable_share=0.8)
    # below 0.3: the right answer and one unanswerable: 1 of 2 plain, 0.4 / 0.5 weighted
    assert plain[2].precision == pytest.approx(0.5) and plain[2].coverage == pytest.approx(0.5)
    assert weighted[2].precision == pytest.approx(0.8)
    assert weighted[2].coverage == pytest.approx(0.5)
    # everything answered: 1 of 4 plain, 0.4 of 1.0 weighted; per-kind rates unchanged
    assert plain[4].precision == pytest.approx(0.25)
    assert weighted[4].precision == pytest.approx(0.4) and weighted[4].coverage == pytest.approx(1)
    assert weighted[4].answerable_correct == plain[4].answerable_correct == 0.5
    assert operating_point(weighted, 0.75).threshold == 0.3
    assert operating_point(plain, 0.75).threshold == 0.2
    with pytest.raises(ConfigError, match=r"answerable share 1\.5 is not in"):
        precision_coverage(points, answerable_share=1.5)
    with pytest.raises(ConfigError, match="needs answerable and unanswerable"):
        precision_coverage(points[:1], answerable_share=0.5)


def test_load_gold_names_the_bad_line(tmp_path: Path) -> None:
    good = {"id": "q1", "question": "Which port?", "answers": ["9001"], "source": "gateway.md"}
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({"id": "q2", "question": "Why?"}))
    questions = load_gold(path)
    assert questions[0] == GoldQuestion("q1", "Which port?", ("9001",), "gateway.md")
    assert questions[0].answerable and not questions[1].answerable
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(SourceError, match=r"gold.jsonl:2 repeats id q1"):
        load_gold(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(SourceError, match=r"gold.jsonl:2 is not a gold question"):
        load_gold(path)
    path.write_text('{"question": "no id"}\n')
    with pytest.raises(SourceError, match=r"gold.jsonl:1 is not a gold question \(KeyError"):
        load_gold(path)
    with pytest.raises(SourceError, match="no gold file"):
        load_gold(tmp_path / "missing.jsonl")
    # an answer of punctuation alone normalizes to nothing: it would score as unanswerable
    path.write_text(json.dumps({**good, "answers": ["~=", "`-`"]}) + "\n")
    with pytest.raises(SourceError, match=r"gold.jsonl:1 \(q1\) has answers \['~=', '`-`'\]"):
        load_gold(path)
    path.write_text(json.dumps({**good, "answers": ["~=", "~= operator"]}) + "\n")
    assert load_gold(path)[0].answerable


class FirstSentence:
    """A scoring generator: drafts passage 1's first number, scores it by how many passages
    it was shown (fewer: less sure), and withholds drafts scored 0.5 or more."""

    name = "first-sentence"

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        if not prompt.passages:
            return Reply(None)
        numbers = [w.strip(".,") for w in prompt.passages[0].text.split() if w[:1].isdigit()]
        if not numbers:
            return Reply(None)
        score = 1 / len(prompt.passages)
        given = score < 0.5
        return Reply(
            numbers[0] if given else None,
            (1,) if given else (),
            abstain_score=score,
            draft=numbers[0],
            draft_cited=1,
        )


def test_answer_passages_keeps_the_score_and_the_draft() -> None:
    gen = FirstSentence()
    assert isinstance(gen, Generator)
    three = answer_passages("Which port?", HITS, gen)
    assert three.text == "9000" and three.abstain_score == pytest.approx(1 / 3)
    one = answer_passages("Which port?", HITS[:1], gen)  # score 1/1: withheld, draft kept
    assert one.abstained and one.draft == "9000" and one.abstain_score == 1.0
    assert answer_passages("Which port?", (), gen).draft is None


@pytest.mark.slow
def test_diagnose_over_the_demo_index(demo_index: Index) -> None:
    questions = [
        GoldQuestion("a", "Which port serves the gateway admin API?", ("9001",), "gateway.md"),
        GoldQuestion("b", "Which rover landed on Mars in 2021?"),
    ]
    results = diagnose(demo_index, FirstSentence(), questions, quiet=True)
    a, b = results
    assert set(a.rungs) == set(Rung) and set(b.rungs) == {Rung.RETRIEVED, Rung.CLOSED_BOOK}
    oracle = a.rungs[Rung.ORACLE].answer.hits
    assert len(oracle) == 1 and oracle[0].chunk.source.endswith("/gateway.md")
    assert "9001" in oracle[0].chunk.text and a.rungs[Rung.ORACLE].held
    assert a.rungs[Rung.CLOSED_BOOK].answer.abstained  # nothing to read
    retrieved = ask(demo_index, FirstSentence(), questions[0].question)
    assert [h.chunk.id for h in a.rungs[Rung.RETRIEVED].answer.hits] == [
        h.chunk.id for h in retrieved.hits
    ]  # the same path as ask
    expected = classify(
        True,
        not retrieved.abstained,
        is_correct(retrieved.text, ["9001"]),
        a.rungs[Rung.RETRIEVED].held,
    )
    assert a.outcome is expected
    # one passage shown: the oracle's draft is withheld (score 1.0), so no rung is right
    assert a.gap is (Gap.NONE if a.rungs[Rung.RETRIEVED].correct else Gap.BEHAVIOUR)
    assert b.outcome in (Outcome.CORRECT_ABSTENTION, Outcome.HALLUCINATION)
    summary = summarize(results)
    assert sum(summary["outcomes"].values()) == 2 and summary["n_answerable"] == 1
    assert summary["rungs"]["oracle"]["n"] == 1 and summary["rungs"]["retrieved"]["n"] == 2


@pytest.mark.slow
def test_cli_diagnose_with_the_packaged_reader(docs_dir: Path, tmp_path: Path, capsys) -> None:
    from ragcore.cli import main

    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    gold = tmp_path / "gold.jsonl"
    rows = [
        {
            "id": "a",
            "question": "What port does the gateway admin API use?",
            "answers": ["9001"],
            "source": "gateway.md",
        },
        {"id": "b", "question": "Which rover landed on Mars in 2021?", "answers": []},
    ]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, report = tmp_path / "d.json", tmp_path / "d.html"
    args = ["eval", "diagnose", str(gold), "--index", str(index), "-q"]
    assert main([*args, "--json", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr()
    assert "outcomes (retrieved passages)" in printed.out and "Warning" not in printed.err
    result = json.loads(out.read_text())
    assert result["kind"] == "diagnose" and [q["id"] for q in result["questions"]] == ["a", "b"]
    assert set(result["questions"][0]["rungs"]) == {"closed_book", "oracle", "retrieved"}
    retrieved = result["questions"][0]["rungs"]["retrieved"]
    assert retrieved["abstain_score"] is not None and retrieved["held"]  # the reader scores
    assert "<h2>Ladder</h2>" in report.read_text()
    assert main([*args, "--target-precision", "1.5"]) == 2
    assert "--target-precision 1.5 is not in (0, 1]" in capsys.readouterr().err
