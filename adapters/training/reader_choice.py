"""Which reader serves an index after ``ragcore adapters tune``: the adapter it trained, or
the span reader that reads by default.

Both read the tune's calibration prompts: the questions of the pages kept out of training as
``ask`` serves them, and a share again with their page left out (the docs do not answer
them). Each reader answers at its own threshold; the tuned adapter's was chosen on these very
prompts, which can only favour it. The reader with more right minus wrong answers serves;
a tie keeps the span reader, the default chosen on hand-written docs questions
(docs/reader.md). Synthesized questions are easier than a team's own (the span reader drafts
86% of them right against half of docsqa-dev's), so the record is a guard against a tune that
made reading worse, not a measure of the reader's accuracy on real questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ragcore.adapters.reader.verifier import FAIL_F1
from ragcore.adapters.training.calibration import read_prompts
from ragcore.adapters.training.calibration_record import Tally
from ragcore.adapters.training.raft import ReaderExample

from ragcore.answer_match import token_f1
from ragcore.index_folder import ServingReader
from ragcore.protocols import Reply


@dataclass(frozen=True)
class ReaderChoice:
    """The two readers' tallies over the same held-out prompts, and the one that serves."""

    tuned: Tally
    span_reader: Tally

    @property
    def chosen(self) -> ServingReader:
        if self.tuned.net > self.span_reader.net:
            return ServingReader.TUNED
        return ServingReader.SPAN_READER

    def to_json(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.value,
            "tuned": asdict(self.tuned),
            "span_reader": asdict(self.span_reader),
        }

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> ReaderChoice | None:
        """The choice a tuned adapter's training card records (None: never compared)."""
        data = card.get("metrics", {}).get("reader_choice", {})
        if not {"tuned", "span_reader"} <= set(data):
            return None
        return cls(Tally.from_json(data["tuned"]), Tally.from_json(data["span_reader"]))


def reply_tally(replies: Iterable[tuple[Reply, ReaderExample]]) -> Tally:
    """Right and wrong answers (F1 >= ``FAIL_F1`` on an answerable question is right) and
    abstentions, over replies as a generator gave them."""
    return Tally.count(
        (r.answer is not None, r.answer is not None and _right(r.answer, ex.golds))
        for r, ex in replies
    )


def _right(answer: str, golds: Sequence[str]) -> bool:
    return bool(golds) and token_f1(answer, golds) >= FAIL_F1


def span_reader_tally(examples: Sequence[ReaderExample], *, quiet: bool = True) -> Tally:
    """The shipped span reader's tally over ``examples``' prompts, at its shipped threshold."""
    from ragcore.adapters.reader.extractive import extractive_reader

    reader = extractive_reader()
    label = "span reader on held-out pages"
    return reply_tally(read_prompts(reader.answer, examples, label=label, quiet=quiet))
