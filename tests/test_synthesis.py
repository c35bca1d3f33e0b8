"""Test-set synthesis: the deterministic template generator, a prompted generator with
verification, the sampling rules, and the CLI loop synthesize -> eval retrieval --index."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from ragcore.evals.data.beir import BeirDataset
from ragcore.evals.data.synthesis import (
    PromptedQuestionGenerator,
    QAPair,
    QuestionGenerator,
    TemplateQuestionGenerator,
    synthesize,
    write_testset,
)

from ragcore import Chunk
from ragcore.cli import main
from ragcore.errors import SourceError


def chunk(i: int, text: str, doc: str | None = None) -> Chunk:
    return Chunk(f"c{i:03d}", doc or f"d{i}", text, 0, len(text), metadata={"source": f"s{i}"})


def test_template_questions_ask_for_an_extracted_span() -> None:
    c = chunk(1, "# Reset\n\nReset links expire after 30 minutes and must be requested again.")
    pairs = TemplateQuestionGenerator().generate(c, random.Random(0))
    assert pairs == [
        QAPair("Reset links expire after what and must be requested again?", "30 minutes")
    ]
    c = chunk(2, "Run the check with `lumenctl db ping` before you upgrade the server.")
    [pair] = TemplateQuestionGenerator().generate(c, random.Random(0))
    assert pair == QAPair(
        "Run the check with what before you upgrade the server?", "lumenctl db ping"
    )
    # too short, or nothing to ask about: no question
    assert TemplateQuestionGenerator().generate(chunk(3, "It works well."), random.Random(0)) == []
    assert isinstance(TemplateQuestionGenerator(), QuestionGenerator)


def test_prompted_generator_keeps_only_verifiable_pairs() -> None:
    c = chunk(1, "The Pro plan costs $8 per user per month, billed annually.")
    replies = iter(
        [
            "Question: What does Pro cost?\nAnswer: $8 per user",  # in the passage: kept
            "Question: What does Pro cost?\nAnswer: nine dollars",  # not in it: dropped
            "Pro costs $8.",  # not in the format: dropped
        ]
    )
    prompts: list[str] = []

    def complete(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    gen = PromptedQuestionGenerator(complete, name="stub-model")
    assert gen.generate(c, random.Random(0)) == [QAPair("What does Pro cost?", "$8 per user")]
    assert gen.generate(c, random.Random(0)) == []
    assert gen.generate(c, random.Random(0)) == []
    assert c.text in prompts[0] and "Answer:" in prompts[0]


def test_synthesize_samples_caps_and_is_seeded() -> None:
    chunks = [
        chunk(
            i, f"Service number {i} restarts every {i + 2} minutes on the main node.", f"d{i % 4}"
        )
        for i in range(20)
    ]
    gen = TemplateQuestionGenerator()
    a = synthesize(chunks, gen, n=10, seed=1, per_document=2)
    assert len(a) == 8  # 4 documents x 2
    assert all(sum(q.doc_id == d for q in a) == 2 for d in ("d0", "d1", "d2", "d3"))
    assert len({q.question for q in a}) == 8 and len({q.chunk_id for q in a}) == 8
    assert a == synthesize(list(reversed(chunks)), gen, n=10, seed=1, per_document=2)
    assert a != synthesize(chunks, gen, n=10, seed=2, per_document=2)
    assert len(synthesize(chunks, gen, n=3, seed=1)) == 3
    for q in a:
        c = next(c for c in chunks if c.id == q.chunk_id)
        assert q.answer in c.text and q.doc_id == c.doc_id and q.generator == "template"


def test_write_testset_is_beir_layout(tmp_path: Path) -> None:
    qs = synthesize(
        [chunk(1, "Backups are kept for 14 days on the primary disk.")],
        TemplateQuestionGenerator(),
        5,
    )
    write_testset(tmp_path, qs)
    ds = BeirDataset.open(tmp_path, need_corpus=False)
    assert ds.synthetic
    assert ds.qrels("synthetic") == {qs[0].id: {"d1": 1.0}}
    assert ds.queries() == {qs[0].id: qs[0].question}
    with pytest.raises(SourceError, match=r"no corpus\.jsonl"):
        BeirDataset.open(tmp_path)


@pytest.mark.slow
def test_cli_synthesize_then_score_the_index(tmp_path: Path, docs_dir: Path, capsys) -> None:
    index, testset, result = tmp_path / "idx", tmp_path / "ts", tmp_path / "r.json"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    assert (
        main(["eval", "synthesize", "--index", str(index), "--out", str(testset), "--n", "8"]) == 0
    )
    assert "ragcore eval retrieval" in capsys.readouterr().out
    rows = [json.loads(line) for line in (testset / "queries.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    args = ["eval", "retrieval", str(testset), "--split", "synthetic", "--index", str(index)]
    assert main([*args, "--mode", "bm25", "--k", "1,10", "--json", str(result), "-q"]) == 0
    assert "scores are a proxy" in capsys.readouterr().err
    r = json.loads(result.read_text())
    assert r["synthetic"] is True and r["n_queries"] == 8
    # questions copy their sentence's words: BM25 finds the source document almost always
    assert r["runs"]["bm25"]["metrics"]["recall@10"] >= 0.85
    assert (
        main(
            [
                "eval",
                "synthesize",
                "--index",
                str(index),
                "--out",
                str(testset),
                "--generator",
                "gpt",
            ]
        )
        == 2
    )
    assert "no ragcore.question_generators plugin named 'gpt'" in capsys.readouterr().err
    assert (
        main(["eval", "synthesize", "--index", str(tmp_path / "none"), "--out", str(testset)]) == 2
    )
