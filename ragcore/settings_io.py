"""Reading settings: TOML files, ``RAGCORE_<SECTION>_<KEY>`` environment variables parsed to
each field's declared type, and the type checks whose errors name the key, the type it takes
and an example. ``config.py`` declares the settings; this module reads them."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from ragcore.errors import ConfigError

ENV_PREFIX = "RAGCORE_"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not a text file (not UTF-8)", "ragcore.toml must be UTF-8 TOML text"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}", "check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the file") from None


def with_environment(
    data: dict[str, Any], environ: Mapping[str, str], sections: Mapping[str, type]
) -> dict[str, Any]:
    """``data`` with every ``RAGCORE_<SECTION>_<KEY>`` variable set over it, each parsed to the
    type its setting declares. Other ``RAGCORE_*`` variables (``RAGCORE_THREADS``...) are not
    settings and are left alone."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for var, raw in sorted(environ.items()):
        if var == ENV_PREFIX + "INDEX_DIR":
            merged["index_dir"] = raw
            continue
        if not var.startswith(ENV_PREFIX):
            continue
        section, _, key = var.removeprefix(ENV_PREFIX).lower().partition("_")
        if section not in sections or not key:
            continue
        kind = sections[section]
        hints = get_type_hints(kind)
        if key not in hints:
            known = ", ".join(ENV_PREFIX + f"{section}_{f.name}".upper() for f in fields(kind))
            raise ConfigError(f"{var} is not a setting", f"[{section}] takes {known}")
        table = merged.setdefault(section, {})
        if not isinstance(table, dict):
            continue  # build() names the bad table
        table[key] = _parse_env(var, raw, hints[key])
    return merged


def _parse_env(var: str, raw: str, hint: Any) -> Any:
    """An environment string as the type ``hint`` declares (the TOML checks then apply)."""
    union = get_origin(hint) in (UnionType, Union)
    options = [h for h in get_args(hint) if h is not type(None)] if union else [hint]
    if union and not raw.strip():
        return None
    for option in options:
        if option is bool:
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off"):
                return False
        elif option in (int, float):
            try:
                return option(raw)
            except ValueError:
                pass
        elif get_origin(option) is tuple:
            if raw.lstrip().startswith("["):
                try:
                    return json.loads(raw)
                except ValueError:
                    pass
            else:
                return [part.strip() for part in raw.split(",") if part.strip()]
        else:
            return raw
    raise ConfigError(
        f"{var}={raw!r} is not {_type_name(hint)}",
        f"set {var} to {_type_name(hint)}, or unset it",
    )


E = TypeVar("E", bound=Enum)
T = TypeVar("T")


def enum_value(enum: type[E], value: Any, name: str) -> E:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in enum)
        raise ConfigError(f"invalid {name} {value!r}", f"choose one of: {choices}") from None


def _fits(hint: Any, value: Any) -> bool:
    """Whether a TOML value has the type a settings field declares (enums take their string
    values; their own check names the choices)."""
    if get_origin(hint) in (UnionType, Union):
        return any(_fits(h, value) for h in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return isinstance(value, str)
    if hint is str:
        return isinstance(value, str)
    return True  # containers: checked by the settings themselves


def _type_name(hint: Any) -> str:
    if get_origin(hint) in (UnionType, Union):
        return " or ".join(_type_name(h) for h in get_args(hint) if h is not type(None))
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _toml(value: Any) -> str:
    try:
        return json.dumps(value)  # true, "false", 5: as the file spells them
    except TypeError:
        return repr(value)


def _example(cls: type, key: str) -> str:
    default = next(f.default for f in fields(cls) if f.name == key)
    if default is None:
        return f'write {key} = "...", or leave it out'
    return f"write {key} = {_toml(getattr(default, 'value', default))} (the default)"


def build(cls: type[T], table: dict[str, Any], path: Path, section: str) -> T:
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: {section} = {table!r} is not a table",
            f"write the section as [{section}] followed by key = value lines",
        )
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"{path}: unknown keys in [{section}]: {sorted(unknown)}",
            f"valid keys: {', '.join(sorted(known))}",
        )
    hints = get_type_hints(cls)
    for key, value in table.items():
        if not _fits(hints[key], value):
            raise ConfigError(
                f"{path}: [{section}] {key} = {_toml(value)} is not {_type_name(hints[key])}",
                _example(cls, key),
            )
    try:
        return cls(**table)
    except TypeError as exc:
        raise ConfigError(f"{path}: bad [{section}] table: {exc}", "check value types") from None
