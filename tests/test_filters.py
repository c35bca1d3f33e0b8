"""The neutral filter value: its JSON-shaped form, the CLI's --filter syntax, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ragcore.cli.options import parse_filters
from ragcore.errors import ConfigError
from ragcore.store.filters import Filter, Match, Range, parse_datetime


def test_the_json_form_reads_every_kind_of_condition() -> None:
    f = Filter.parse(
        {
            "file_type": "markdown",
            "lang": ["en", "de"],
            "year": {"gte": 2020, "lt": 2024},
            "modified": {"gte": "2024-06-01"},
            "status": {"not": ["draft", "retired"], "in": ["live", "beta"]},
        }
    )
    june = datetime(2024, 6, 1, tzinfo=UTC)
    assert f.must == (
        Match("file_type", ("markdown",)),
        Match("lang", ("en", "de")),
        Range("year", gte=2020.0, lt=2024.0),
        Range("modified", gte=june),
        Match("status", ("live", "beta")),
    )
    assert f.must_not == (Match("status", ("draft", "retired")),)
    assert f.keys() == ["file_type", "lang", "year", "modified", "status"]
    assert Filter.parse(None) == Filter() and not Filter() and f
    assert Filter.parse(f) is f
    assert Filter.parse({"d": {"lt": date(2024, 1, 2)}}).must == (
        Range("d", lt=datetime(2024, 1, 2, tzinfo=UTC)),
    )


def test_dates_are_read_as_utc() -> None:
    assert parse_datetime("2024-06-01") == datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_datetime("2024-06-01T12:30:00Z") == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert parse_datetime("2024-06-01T14:30:00+02:00") == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert parse_datetime("last week") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"year": {"around": 2020}}, "unknown operators \\['around'\\]"),
        ({"year": {}}, "'year': {}"),
        ({"year": {"gte": "soon"}}, "neither a number nor an ISO 8601 date"),
        ({"year": {"gte": True}}, "not a boolean"),
        ({"year": {"gte": 2020, "lt": "2024-01-01"}}, "mixes dates and numbers"),
        ({"tag": [1.5]}, "not a string, integer or boolean"),
        ({"tag": []}, "lists no values"),
        ({"tag": ["a", 1]}, "strings only or integers only"),
        ({"": "x"}, "not a field name"),
        (["tag"], "must be a mapping"),
    ],
)
def test_a_malformed_filter_is_named(raw, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        Filter.parse(raw)
    assert err.value.hint


def test_the_cli_syntax() -> None:
    f = parse_filters(["file_type=markdown", "n=1,2", "year>=2020", "year<2024", "lang!=de,fr"])
    assert f == Filter.parse(
        {
            "file_type": "markdown",
            "n": [1, 2],
            "year": {"gte": 2020, "lt": 2024},
            "lang": {"not": ["de", "fr"]},
        }
    )
    assert parse_filters(["version=1.5"]).must == (Match("version", ("1.5",)),)
    assert parse_filters(["modified>2024-06-01"]).must == (
        Range("modified", gt=datetime(2024, 6, 1, tzinfo=UTC)),
    )
    for bad, message in [("oops", "bad --filter"), ("year>=x", "ISO 8601")]:
        with pytest.raises(ConfigError, match=message):
            parse_filters([bad])
    with pytest.raises(ConfigError, match="twice"):
        parse_filters(["a=1", "a=2"])
