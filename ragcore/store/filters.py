"""The neutral filter value: conditions on chunk payloads, translated by each store backend
(as qdrant-client's local and remote modes share one ``models.Filter``).

A ``Filter`` holds conditions that must all hold (``must``) and conditions none of which may
hold (``must_not``). A condition is a ``Match`` (the field equals one of some values: plain
equality or any-of) or a ``Range`` (numbers, or dates and times, with ``gt``/``gte``/``lt``/
``lte`` bounds). Keys are top-level payload keys (``doc_id``, ``source``, ``access``) or
document metadata keys.

``Filter.parse`` reads the JSON-shaped form that the HTTP API, the integrations and
``Index.search(filters=...)`` take::

    {"file_type": "markdown",                 # equals
     "lang": ["en", "de"],                    # any of
     "year": {"gte": 2020, "lt": 2024},       # a range
     "modified": {"gte": "2024-06-01"},       # a date range (ISO 8601)
     "status": {"not": ["draft", "retired"]}} # none of
                                              # ("in": [...] is any of, beside other ops)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ragcore.errors import ConfigError

Scalar = str | int | bool
Bound = float | datetime
RANGE_OPS = ("gt", "gte", "lt", "lte")
FILTER_HINT = (
    'write a value, a list (any of), or {"gte": .., "lt": .., "not": ..}, '
    'e.g. {"year": {"gte": 2020}}'
)


@dataclass(frozen=True)
class Match:
    """The field equals one of ``values`` (for a list field: holds one of them)."""

    key: str
    values: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ConfigError(f"filter {self.key!r} lists no values", FILTER_HINT)
        kinds = {type(v) for v in self.values}
        if len(self.values) > 1 and (len(kinds) > 1 or bool in kinds):
            raise ConfigError(
                f"filter {self.key!r} lists {list(self.values)}: an any-of list holds strings "
                "only or integers only",
                "split it into one filter per kind of value",
            )


@dataclass(frozen=True)
class Range:
    """The field lies within the bounds: all numbers, or all dates and times (UTC)."""

    key: str
    gt: Bound | None = None
    gte: Bound | None = None
    lt: Bound | None = None
    lte: Bound | None = None

    def __post_init__(self) -> None:
        bounds = [b for b in self.bounds().values()]
        if not bounds:
            raise ConfigError(f"range filter {self.key!r} has no bound", FILTER_HINT)
        if len({isinstance(b, datetime) for b in bounds}) > 1:
            raise ConfigError(
                f"range filter {self.key!r} mixes dates and numbers",
                "give every bound of one key as a number, or every one as a date",
            )

    def bounds(self) -> dict[str, Bound]:
        return {op: v for op in RANGE_OPS if (v := getattr(self, op)) is not None}

    @property
    def on_dates(self) -> bool:
        return any(isinstance(b, datetime) for b in self.bounds().values())


Condition = Match | Range


@dataclass(frozen=True)
class Filter:
    """Every ``must`` condition holds and no ``must_not`` one does."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.must or self.must_not)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(c.key for c in (*self.must, *self.must_not)))

    @classmethod
    def equals(cls, key: str, *values: Scalar) -> Filter:
        """The field equals one of ``values``."""
        return cls((Match(key, values),))

    @classmethod
    def parse(cls, raw: Filter | Mapping[str, Any] | None) -> Filter:
        """A ``Filter`` from its JSON-shaped form (see the module docstring)."""
        if raw is None or isinstance(raw, Filter):
            return raw or Filter()
        if not isinstance(raw, Mapping):
            raise ConfigError(f"filters must be a mapping, not {type(raw).__name__}", FILTER_HINT)
        must: list[Condition] = []
        must_not: list[Condition] = []
        for key, value in raw.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"filter key {key!r} is not a field name", FILTER_HINT)
            if isinstance(value, Mapping):
                _parse_ops(key, value, must, must_not)
            else:
                must.append(Match(key, _values(key, value)))
        return cls(tuple(must), tuple(must_not))


def _parse_ops(key: str, ops: Mapping[str, Any], must: list, must_not: list) -> None:
    unknown = sorted(set(ops) - {*RANGE_OPS, "in", "not"})
    if unknown or not ops:
        raise ConfigError(
            f"filter {key!r} has unknown operators {unknown}" if unknown else f"{key!r}: {{}}",
            f"use in, not, gt, gte, lt or lte; {FILTER_HINT}",
        )
    if "in" in ops:
        must.append(Match(key, _values(key, ops["in"])))
    if "not" in ops:
        must_not.append(Match(key, _values(key, ops["not"])))
    bounds = {op: _bound(key, op, ops[op]) for op in RANGE_OPS if op in ops}
    if bounds:
        must.append(Range(key, **bounds))


def _values(key: str, value: Any) -> tuple[Scalar, ...]:
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    for item in items:
        if not isinstance(item, (str, int, bool)) or isinstance(item, float):
            raise ConfigError(
                f"filter {key!r} matches {item!r}, which is not a string, integer or boolean",
                FILTER_HINT,
            )
    return tuple(items)


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as a UTC datetime (naive ones are taken as UTC)."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _bound(key: str, op: str, value: Any) -> Bound:
    if isinstance(value, bool):
        raise ConfigError(
            f"filter {key!r} {op} {value!r}: a bound is a number or a date, not a boolean",
            'e.g. {"year": {"gte": 2020}}',
        )
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    if isinstance(value, str) and (when := parse_datetime(value)) is not None:
        return when
    raise ConfigError(
        f"filter {key!r} {op} {value!r} is neither a number nor an ISO 8601 date",
        'e.g. {"year": {"gte": 2020}} or {"modified": {"gte": "2024-06-01"}}',
    )


def rfc3339(when: datetime) -> str:
    """The form Qdrant's datetime ranges take."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
