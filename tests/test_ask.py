"""The reader's prompt/reply format, the grounding guard, the ask pipeline over the real demo
index, and a tiny randomly initialised transformers model behind the generator plugin."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tiny_models import tiny_model

from ragcore import AbstainReason, Chunk, Hit, Index
from ragcore.ask import AskConfig, answer_from_reply, ask
from ragcore.grounding import GuardMode, best_supporting, key_tokens, support
from ragcore.prompting import ABSTAIN_REPLY, parse_reply, reader_messages
from ragcore.protocols import Generator, Reply
from ragcore.types import Prompt


def hit(n: int, text: str, headings: tuple[str, ...] = ()) -> Hit:
    c = Chunk(f"c{n}", f"d{n}", text, 0, len(text), headings, {"source": f"file:///doc{n}.md"})
    return Hit(c, 1.0 / n, n)


HITS = (
    hit(1, "The gateway listens on port 9000.\nIts admin API uses 9001.", ("Gateway",)),
    hit(2, "Reset links expire after 30 minutes."),
    hit(3, "The Pro plan costs $8 per user per month."),
)


def test_prompt_numbers_passages_and_states_the_abstain_form() -> None:
    system, user = reader_messages(Prompt.from_hits("Which port?", HITS))
    assert system["role"] == "system" and ABSTAIN_REPLY in system["content"]
    assert (
        "[1] (Gateway) The gateway listens on port 9000. Its admin API uses 9001."
        in user["content"]
    )
    assert "[3] The Pro plan costs $8" in user["content"]
    assert user["content"].endswith("Question: Which port?")


@pytest.mark.parametrize(
    ("reply", "answer", "cited", "invalid"),
    [
        ("Port 9000 [1].", "Port 9000.", (1,), ()),
        ("Answer: 30 minutes [2][2][3]", "30 minutes", (2, 3), ()),
        ("$8 per user [7]", "$8 per user", (), (7,)),
        ("I don't know.", None, (), ()),
        ("i do not know the answer", None, (), ()),
        ("Unanswerable from the passages.", None, (), ()),
        ("[1]", None, (), ()),
        ("   ", None, (), ()),
    ],
)
def test_parse_reply(reply: str, answer: str | None, cited: tuple, invalid: tuple) -> None:
    parsed = parse_reply(reply, 3)
    assert (parsed.answer, parsed.cited) == (answer, cited)
    assert parsed.invalid == invalid or answer is None
    assert parsed.abstained == (answer is None)


def test_a_reply_shows_its_answer_and_citations() -> None:
    assert Reply("Port 9000", (1, 3)).text == "Port 9000 [1][3]"
    assert Reply("Port 9000").text == "Port 9000"
    assert Reply(None, draft="9000").text == ABSTAIN_REPLY


def test_support_counts_key_tokens() -> None:
    assert key_tokens("The port is 9,000!") == ["port", "9,000"]
    assert support("port 9000", [HITS[0]]) == 1.0
    # key tokens {pro, costs, 10, month}: 3 of 4 in passage 3
    assert support("Pro costs 10 a month", [HITS[2]]) == 0.75
    assert support("the", [HITS[1]]) == 1.0  # nothing to check
    assert best_supporting("30 minutes", HITS, 0.6) == 2
    assert best_supporting("Mars rover", HITS, 0.6) is None


def test_guard_modes() -> None:
    ok = answer_from_reply("q", HITS, Reply("port 9000", (1,)), AskConfig())
    assert ok.text == "port 9000" and [c.n for c in ok.citations] == [1] and not ok.flags
    # cites passage 2, which does not hold "9000": unsupported
    bad = Reply("port 9000", (2,))
    refused = answer_from_reply("q", HITS, bad, AskConfig(guard=GuardMode.ABSTAIN))
    assert refused.abstained and refused.abstain_reason is AbstainReason.UNSUPPORTED
    flagged = answer_from_reply("q", HITS, bad, AskConfig(guard=GuardMode.FLAG))
    assert flagged.text == "port 9000" and flagged.flags == ("unsupported",)
    kept = answer_from_reply("q", HITS, bad, AskConfig(guard=GuardMode.OFF))
    assert kept.text == "port 9000" and not kept.flags
    # no citation, but passage 2 supports it: cited for the reader, and flagged as inferred
    inferred = answer_from_reply("q", HITS, Reply("30 minutes"), AskConfig())
    assert [c.n for c in inferred.citations] == [2] and inferred.flags == ("inferred_citation",)
    abstained = answer_from_reply("q", HITS, Reply(None), AskConfig())
    assert abstained.abstain_reason is AbstainReason.NO_ANSWER


class Scripted:
    """A deterministic Generator: answers with the first sentence of passage 1, cited,
    streaming it word by word; records the prompts it got."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[Prompt] = []

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        self.calls.append(prompt)
        reply = Reply(" ".join(prompt.passages[0].text.split()).split(". ")[0], (1,))
        for word in reply.text.split(" "):
            if on_token:
                on_token(word + " ")
        return reply


@pytest.mark.slow
def test_ask_over_the_demo_index(demo_index: Index) -> None:
    gen = Scripted()
    assert isinstance(gen, Generator)
    pieces: list[str] = []
    a = ask(demo_index, gen, "How long do password reset links stay valid?", on_token=pieces.append)
    assert len(a.hits) == 3 and "rerank" in a.hits[0].scores  # default mode reranks
    assert not a.abstained and [c.n for c in a.citations] == [1]
    assert a.citations[0].chunk_id == a.hits[0].chunk.id
    streamed = "".join(pieces).strip()
    assert streamed.endswith("[1]") and a.text.rstrip(".") in streamed
    assert {"retrieve", "first_token", "generate", "total"} <= set(a.timings_ms)
    assert a.timings_ms["first_token"] <= a.timings_ms["generate"] <= a.timings_ms["total"]
    # the retrieval gate: nothing reaches this rerank score, so no generation happens
    gated = ask(demo_index, gen, "Which rover landed on Mars?", AskConfig(min_rerank_score=50.0))
    assert gated.abstain_reason is AbstainReason.LOW_RETRIEVAL_SCORE and len(gen.calls) == 1
    with pytest.raises(Exception, match="question is empty"):
        ask(demo_index, gen, "  ")


def test_transformers_generator_streams_what_it_returns(tmp_path: Path) -> None:
    from ragcore.adapters.transformers_generator import TransformersGenerator

    gen = TransformersGenerator(tiny_model(tmp_path / "tiny"))
    assert isinstance(gen, Generator) and gen.name == "tiny"
    pieces: list[str] = []
    messages = reader_messages(Prompt.from_hits("which port", HITS[:2]))
    text = gen.complete(messages, 12, pieces.append)
    assert text and "".join(pieces) == text
    assert gen.complete(messages, 12) == text  # greedy
    assert gen.answer(Prompt.from_hits("which port", HITS[:2]), 12) == parse_reply(text, 2)
    with pytest.raises(Exception, match="not a transformers model directory"):
        TransformersGenerator(tmp_path)


@pytest.mark.slow
def test_cli_ask_json_with_a_model_directory(tmp_path: Path, docs_dir: Path, capsys) -> None:
    from ragcore.cli import main

    index = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(index), "-q"]) == 0
    model = tiny_model(tmp_path / "tiny")
    capsys.readouterr()
    args = ["ask", "Which port does the gateway use?", "--index", str(index), "--json"]
    assert main([*args, "--generator", "transformers", "--model", str(model)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"answer", "abstained", "citations", "hits", "timings_ms"}
    assert len(data["hits"]) == 3 and data["abstained"] == (data["answer"] is None)
    assert main([*args, "--generator", "gpt-9"]) == 2
    assert "no ragcore.generators plugin named 'gpt-9'" in capsys.readouterr().err
