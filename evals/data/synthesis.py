"""Test-set synthesis for users without labels: (question, gold chunk) pairs generated from
their own indexed documents, written in BEIR layout so ``ragcore eval retrieval`` scores it.

Synthetic questions are a proxy. The default generator is deterministic and extractive: it
takes a sentence, picks an answer span (a number with its unit, a name, a quoted or code
term) and asks for it ("Reset links expire after what?"). Such questions share words with
their passage, so they favour lexical retrieval and read easier than users' questions. Use
them to catch regressions and compare settings on your own documents, not as an absolute
score. A model writes more natural questions: ``PromptedQuestionGenerator`` wraps any text
completion function, and keeps only questions whose answer it can find in the passage.

Generators are plugins (entry-point group ``ragcore.question_generators``), following the
``QuestionGenerator`` protocol.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ragcore.answer_match import contains_span, normalize
from ragcore.types import Chunk


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


@dataclass(frozen=True)
class SyntheticQuestion:
    id: str
    question: str
    answer: str
    chunk_id: str
    doc_id: str
    source: str
    generator: str


@runtime_checkable
class QuestionGenerator(Protocol):
    name: str

    def generate(self, chunk: Chunk, rng: random.Random) -> list[QAPair]:
        """Candidate (question, answer) pairs the chunk answers; may be empty."""
        ...


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])|\n+")
_NUMBER = re.compile(
    r"(?<![\w.$])\$?\d[\d,]*(?:\.\d+)?%?(?:\s(?:[a-z]{2,12}|[A-Z]{2,5}))?(?![\w-])"
)
_NAME = re.compile(r"(?<=[a-z,;:] )(?:[A-Z][\w-]+(?: (?:[A-Z][\w-]+|of|and|de))*)")
_CODE = re.compile(r"`([^`]{2,40})`|\"([^\"]{3,40})\"")
_MARKUP = re.compile(r"^[#>*\-\s|]+|\*\*|__")


class TemplateQuestionGenerator:
    """Deterministic extractive questions: ``sentence with the answer replaced by "what"``."""

    name = "template"

    def __init__(self, min_words: int = 6, max_words: int = 40) -> None:
        self.min_words, self.max_words = min_words, max_words

    def _candidates(self, sentence: str) -> list[tuple[int, int]]:
        spans = []
        for rx in (_CODE, _NUMBER, _NAME):
            for m in rx.finditer(sentence):
                if m.start() > 0:  # a sentence-initial answer would leave "What ..." only
                    spans.append((m.start(), m.end()))
        return spans

    def generate(self, chunk: Chunk, rng: random.Random) -> list[QAPair]:
        pairs = []
        for raw in _SENTENCE.split(chunk.text):
            sentence = _MARKUP.sub("", raw.strip()).strip()
            words = sentence.split()
            if not self.min_words <= len(words) <= self.max_words or not sentence[0].isalpha():
                continue
            for start, end in self._candidates(sentence):
                answer = sentence[start:end].strip('`"')
                stem = sentence[:start] + "what" + sentence[end:]
                question = re.sub(r"[.!:;]+$", "", stem.strip()) + "?"
                if len(question.split()) >= 5 and normalize(answer):
                    pairs.append(QAPair(question, answer))
        rng.shuffle(pairs)
        return pairs


PROMPT = (
    "Write one question that the passage below answers, as a user would ask it, and its "
    "short answer copied word for word from the passage.\n\nPassage:\n{text}\n\n"
    "Reply in exactly this format:\nQuestion: ...\nAnswer: ..."
)


class PromptedQuestionGenerator:
    """Questions from a model: ``complete(prompt) -> text`` is any generator (a local model,
    an OpenAI-compatible endpoint). Replies whose answer does not occur in the passage are
    dropped, so every kept pair is verifiable."""

    def __init__(self, complete: Callable[[str], str], name: str = "prompted") -> None:
        self.complete, self.name = complete, name

    def generate(self, chunk: Chunk, rng: random.Random) -> list[QAPair]:
        reply = self.complete(PROMPT.format(text=chunk.text))
        q = re.search(r"^\s*Question:\s*(.+?)\s*$", reply, re.M | re.I)
        a = re.search(r"^\s*Answer:\s*(.+?)\s*$", reply, re.M | re.I)
        if not q or not a:
            return []
        answer = a.group(1).strip().strip("\"'")
        if not contains_span(chunk.text, answer):
            return []
        return [QAPair(q.group(1).strip(), answer)]


def synthesize(
    chunks: Iterable[Chunk],
    generator: QuestionGenerator,
    n: int,
    seed: int = 0,
    per_document: int = 3,
) -> list[SyntheticQuestion]:
    """Up to ``n`` questions from chunks drawn at random (seeded), at most ``per_document``
    per document, never the same question twice."""
    pool = sorted(chunks, key=lambda c: c.id)
    rng = random.Random(seed)
    rng.shuffle(pool)
    out: list[SyntheticQuestion] = []
    seen: set[str] = set()
    per_doc: dict[str, int] = {}
    for chunk in pool:
        if len(out) >= n:
            break
        if per_doc.get(chunk.doc_id, 0) >= per_document:
            continue
        for pair in generator.generate(chunk, rng):
            key = normalize(pair.question)
            if key in seen:
                continue
            seen.add(key)
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
            out.append(
                SyntheticQuestion(
                    f"syn-{len(out) + 1:05d}",
                    pair.question,
                    pair.answer,
                    chunk.id,
                    chunk.doc_id,
                    chunk.source,
                    generator.name,
                )
            )
            break  # one question per chunk spreads the set over more passages
    return out


def write_testset(
    folder: Path, questions: Sequence[SyntheticQuestion], split: str = "synthetic"
) -> None:
    """``queries.jsonl`` (with answer and gold chunk), ``qrels/SPLIT.tsv`` at document level
    (chunk boundaries move with chunk settings; documents do not), ``synthetic.json``."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "queries.jsonl", "w") as fh:
        for q in questions:
            row = {"_id": q.id, "text": q.question, "metadata": asdict(q)}
            fh.write(json.dumps(row) + "\n")
    with open(folder / "qrels" / f"{split}.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in questions:
            fh.write(f"{q.id}\t{q.doc_id}\t1\n")
    generators = sorted({q.generator for q in questions})
    (folder / "synthetic.json").write_text(
        json.dumps(
            {
                "synthetic": True,
                "generators": generators,
                "n_questions": len(questions),
                "split": split,
                "note": "questions generated from the indexed documents: scores are a proxy",
            },
            indent=1,
        )
    )
