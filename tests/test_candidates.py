"""Answer candidates: the decoded span against the passages' inline-code units, each judged by
the relevance of its local context to the question."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from ragcore.adapters.reader.candidates import (
    DRAFT_BONUS,
    AnswerCandidates,
    Candidate,
    choose,
    code_units,
    context,
    draft_candidate,
)
from ragcore.adapters.reader.decoding import ReaderConfig

from ragcore.errors import ConfigError

DOCS = (
    "Run `poetry install` to set up the project. Pass `--no-root` to skip installing the "
    "project itself, and `--compile` to byte-compile the installed sources. "
    "```bash poetry install --sync ``` The `--sync` option removes packages not in the lock."
)


def overlap(question: str, texts: Sequence[str]) -> list[float]:
    """A plain relevance: how many of the question's words (4+ letters) a text holds."""
    words = set(re.findall(r"[a-z]{4,}", question.lower()))
    return [float(len(words & set(re.findall(r"[a-z]{4,}", t.lower())))) for t in texts]


def test_context_takes_chars_either_side_widened_to_whole_words() -> None:
    text = "alpha beta gamma `--flag` delta epsilon zeta"
    start = text.index("--flag")
    end = start + len("--flag")
    assert context(text, start, end, chars=3) == "gamma `--flag` delta"
    assert context(text, start, end, chars=0) == "`--flag`"
    assert context(text, start, end, chars=1000) == text
    assert context(text, 0, 5, chars=3) == "alpha beta"


def test_code_units_skip_fences_long_samples_and_what_the_question_quotes() -> None:
    units = code_units([DOCS], "How do I make `Poetry install` compile the sources?")
    assert [u.text for u in units] == ["--no-root", "--compile", "--sync"]
    for u in units:
        assert DOCS[u.start : u.end] == u.text and u.passage == 1
    long = "Run `a b c d e f g h i` or `short`."
    assert [u.text for u in code_units(["no code here", long], "?")] == ["short"]
    padded = code_units(["Set ` key ` first."], "?")
    assert padded == [Candidate("key", 1, 6, 9)]  # the bounds hold the unit as it is answered
    assert code_units(["no code here"], "?") == []


def test_draft_candidate_is_where_the_span_lies() -> None:
    texts = ["nothing", DOCS]
    draft = draft_candidate("--compile", texts)
    assert (
        draft is not None
        and draft.passage == 2
        and texts[1][draft.start : draft.end] == "--compile"
    )
    assert draft_candidate("absent words", texts) is None
    assert draft_candidate("", texts) is None


def test_choose_takes_the_unit_whose_context_answers() -> None:
    question = "Which flag byte-compiles the installed sources?"
    draft = draft_candidate("project", [DOCS])
    chosen = choose(question, draft, [DOCS], overlap)
    assert chosen == Candidate("--compile", 1, DOCS.index("--compile"), DOCS.index("--compile") + 9)


def test_the_draft_keeps_ties_and_its_bonus() -> None:
    texts = ["Use `one` here. Or use `two` here."]
    # with the same relevance as every unit, the draft stays (its bonus decides)
    draft = draft_candidate("use", texts)
    assert choose("use", draft, texts, lambda q, ts: [1.0] * len(ts)) is draft
    # a unit must beat the draft by more than DRAFT_BONUS
    just_under = choose("use", draft, texts, lambda q, ts: [0.0, DRAFT_BONUS - 0.1, 0.0])
    assert just_under is draft
    over = choose("use", draft, texts, lambda q, ts: [0.0, DRAFT_BONUS + 0.1, 0.0])
    assert over is not None and over.text == "one"
    # without a draft in the passages the best unit is the answer; on a tie the earlier one
    best = choose("use", None, texts, lambda q, ts: [1.0, 1.0])
    assert best is not None and best.text == "one"


def test_without_code_units_the_draft_stands_and_no_model_runs() -> None:
    def never(question: str, texts: Sequence[str]) -> list[float]:
        raise AssertionError("no candidates to compare")

    draft = draft_candidate("Paris", ["The tower is in Paris."])
    assert choose("Where?", draft, ["The tower is in Paris."], never) is draft
    assert choose("Where?", None, ["The tower is in Paris."], never) is None


def test_reader_config_names_its_candidates(tmp_path) -> None:
    assert ReaderConfig().candidates is AnswerCandidates.DRAFT  # older configs read as before
    config = ReaderConfig(candidates="code_units")
    assert config.candidates is AnswerCandidates.CODE_UNITS
    config.save(tmp_path)
    assert ReaderConfig.load(tmp_path) == config
    assert '"candidates": "code_units"' in (tmp_path / "reader_config.json").read_text()
    unknown = r"invalid reader_config candidates 'units'.*draft, code_units"
    with pytest.raises(ConfigError, match=unknown):
        ReaderConfig(candidates="units")


def test_reader_config_errors_name_the_setting_and_the_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"invalid reader_config score 'verify'.*verifier"):
        ReaderConfig(score="verify")
    (tmp_path / "reader_config.json").write_text('{"score": "verifier",')
    with pytest.raises(ConfigError, match=r"reader_config.json is not JSON"):
        ReaderConfig.load(tmp_path)
    (tmp_path / "reader_config.json").write_text("[0.63]")
    with pytest.raises(ConfigError, match=r"reader_config.json is not a JSON object"):
        ReaderConfig.load(tmp_path)
