"""Verified distillation: which teacher labels are kept, and the CLI from an index to a
trained student."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from ragcore.adapters.training.distill import (
    DistillConfig,
    Unverified,
    Verdict,
    distill_labels,
    label_question,
    read_questions,
    verified,
)
from tiny_models import tiny_model

from ragcore import Index
from ragcore.cli import main
from ragcore.errors import ConfigError
from ragcore.prompting import ABSTAIN_REPLY, parse_reply
from ragcore.protocols import Reply
from ragcore.types import Prompt

PASSAGES = (
    ("Gateway", "The gateway listens on port 9000 by default."),
    ("Billing", "The Pro plan costs 12 dollars per user."),
    ("Reset", "Password resets expire after 30 minutes."),
    ("Regions", "Data stays in the Frankfurt region."),
)


class Teacher:
    """Answers with a rule over the passages as shown (numbering follows the shown order)."""

    def __init__(self, rule: Callable[[list[str]], str]) -> None:
        self.rule, self.name, self.calls = rule, "scripted-teacher", 0

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        self.calls += 1
        return parse_reply(self.rule([p.text for p in prompt.passages]), len(prompt.passages))


def finds_port(shown: list[str]) -> str:
    n = next(i for i, text in enumerate(shown, 1) if "9000" in text)
    return f"port 9000 [{n}]"


def first_word(shown: list[str]) -> str:  # position-biased: whatever passage [1] says
    return f"{shown[0].split()[1]} [1]"


def test_a_consistent_verified_answer_is_kept_with_its_passage() -> None:
    teacher = Teacher(finds_port)
    label = label_question(teacher, "which port", PASSAGES, DistillConfig(), random.Random(0))
    assert teacher.calls == 3  # one answer per sample, passages reordered after the first
    assert label.verdict is Verdict.ANSWER and label.votes == 3
    assert label.answer == "port 9000" and label.cited == 1  # cited in the original order
    assert label.example(0).passages == PASSAGES


def test_position_bias_and_unverified_answers_are_dropped_and_refusals_abstain() -> None:
    config = DistillConfig(samples=4, agree=3, seed=0)
    biased = label_question(Teacher(first_word), "q", PASSAGES, config, random.Random(0))
    assert biased.verdict is Verdict.DROPPED and biased.votes < 3
    for reply in ("42 [1]", "port 9000"):  # made up; right but uncited
        label = label_question(
            Teacher(lambda s, r=reply: r), "q", PASSAGES, config, random.Random(0)
        )
        assert label.verdict is Verdict.UNVERIFIED and label.answer is None
        assert not label.verdict.kept
    lenient = DistillConfig(samples=4, agree=3, unverified=Unverified.ABSTAIN)
    made_up = label_question(Teacher(lambda s: "42 [1]"), "q", PASSAGES, lenient, random.Random(0))
    assert made_up.verdict is Verdict.ABSTAIN and made_up.verdict.kept
    refuses = Teacher(lambda s: ABSTAIN_REPLY)
    for c in (config, lenient):  # every sample abstains: an abstention label either way
        assert label_question(refuses, "q", PASSAGES, c, random.Random(0)).verdict is (
            Verdict.ABSTAIN
        )
    # one sample refuses and one answers unverifiably: the answer is not verified, so dropped
    mixed = iter([ABSTAIN_REPLY, "42 [1]"])
    assert label_question(
        Teacher(lambda s: next(mixed)), "q", PASSAGES, DistillConfig(samples=2, agree=1),
        random.Random(0),
    ).verdict is Verdict.UNVERIFIED  # fmt: skip
    assert verified(Reply("9000", (2,)), PASSAGES) is None  # cites a passage without it
    assert verified(Reply("9000", (1,)), PASSAGES) == ("9000", 1)
    assert verified(Reply("9000"), PASSAGES) is None  # uncited


def test_config_and_questions_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agree=4 must be between 1 and samples=3"):
        DistillConfig(samples=3, agree=4)
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "which port"}\nhow long is a reset\n\n')
    assert read_questions(path) == ["which port", "how long is a reset"]
    path.write_text('{"q": "x"}\n')
    with pytest.raises(ConfigError, match=r"q\.jsonl:1 is not JSON with a 'question' field"):
        read_questions(path)


def test_distill_over_an_index_and_train_a_student(
    demo_index: Index, docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def grounded(shown: list[str]) -> str:  # answers only when a passage names a port
        for n, text in enumerate(shown, 1):
            if m := re.search(r"\bport (\d+)", text):
                return f"port {m.group(1)} [{n}]"
        return ABSTAIN_REPLY

    questions = ["what ports does the gateway use", "how much does the Pro plan cost"]
    labels = distill_labels(demo_index, Teacher(grounded), questions, quiet=True)
    assert [label.verdict for label in labels] == [Verdict.ANSWER, Verdict.ABSTAIN]
    port = labels[0]
    assert port.answer.startswith("port ") and port.answer in port.passages[port.cited - 1][1]

    with Index.open(tmp_path / "idx", create=True) as index:
        index.ingest([docs_dir], quiet=True)
    qfile = tmp_path / "questions.txt"
    qfile.write_text("\n".join(questions) + "\n")
    base = tiny_model(tmp_path / "tiny-base")
    out = tmp_path / "student"
    command = [
        "adapters", "distill", "--index", str(tmp_path / "idx"), "--out", str(out), "--teacher",
        "transformers", "--teacher-model", str(base), "--questions", str(qfile), "--samples",
        "2", "--agree", "1", "--base", str(base), "--quiet",
    ]  # fmt: skip
    # a random tiny teacher answers without citing: no label verifies, and nothing is trained
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "every label was dropped" in err and "--unverified abstain" in err
    assert not (out / "training_card.json").exists()
    code = main([*command, "--unverified", "abstain"])
    assert code == 0
    rows = [json.loads(line) for line in (out / "distill_labels.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["replies"]) == 2 for r in rows)
    card = json.loads((out / "training_card.json").read_text())
    assert card["data"]["kind"] == "verified distillation"
    assert sum(card["data"]["distill"]["labels"].values()) == 2
    assert card["data"]["distill"]["unverified"] == "abstain"
    kept = sum(Verdict(r["verdict"]).kept for r in rows)
    assert card["training"]["examples"] == kept > 0
