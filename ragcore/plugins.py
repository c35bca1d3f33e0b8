"""Plugin discovery through Python entry points.

The core never imports connectors, embedders or rerankers by module path: it looks them up
in the groups below, exactly as it would find a third party's package.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ragcore.errors import ConfigError, PluginError, SourceError


class PluginGroup(StrEnum):
    CONNECTORS = "ragcore.connectors"
    EMBEDDERS = "ragcore.embedders"
    RERANKERS = "ragcore.rerankers"
    QUESTION_GENERATORS = "ragcore.question_generators"
    GENERATORS = "ragcore.generators"


@dataclass(frozen=True)
class PluginInfo:
    group: PluginGroup
    name: str
    target: str
    distribution: str
    version: str


def _entry_points(group: PluginGroup) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group.value)}


def available(group: PluginGroup) -> list[PluginInfo]:
    out = []
    for name, ep in sorted(_entry_points(group).items()):
        dist = ep.dist
        out.append(
            PluginInfo(
                group, name, ep.value, dist.name if dist else "?", dist.version if dist else "?"
            )
        )
    return out


def load(group: PluginGroup, name: str) -> Any:
    """The object an entry point names, with a clear error if it is missing or broken."""
    eps = _entry_points(group)
    if name not in eps:
        names = ", ".join(sorted(eps)) or "none installed"
        raise PluginError(
            f"no {group.value} plugin named {name!r}",
            f"installed: {names}. Is the package that provides it installed (pip install ...)?",
        )
    try:
        return eps[name].load()
    except ImportError as exc:
        raise PluginError(
            f"plugin {name!r} ({eps[name].value}) cannot be imported: {exc}",
            "install its extra, e.g. pip install 'ragcore[minilm]' for all-MiniLM-L6-v2",
        ) from None


@cache
def _instance(group: PluginGroup, name: str) -> Any:
    return load(group, name)()


def embedder(name: str) -> Any:
    """A shared instance of the named embedder (models load once per process)."""
    return _instance(PluginGroup.EMBEDDERS, name)


def reranker(name: str) -> Any:
    return _instance(PluginGroup.RERANKERS, name)


def connector_for(
    source: str, connector: str | None = None, options: Mapping[str, Any] | None = None
) -> Any:
    """Build the connector for ``source``: the one named ``connector``, else the installed one
    that claims it (``accepts``), highest ``priority`` first, then entry-point name order.
    ``options`` are passed to its factory as keywords."""
    options = dict(options or {})
    if connector is not None:
        return _build(connector, load(PluginGroup.CONNECTORS, connector), source, options)
    factories = []
    for name, ep in _entry_points(PluginGroup.CONNECTORS).items():
        try:
            factories.append((name, ep.load()))
        except ImportError:
            continue
    factories.sort(key=lambda nf: (-getattr(nf[1], "priority", 0), nf[0]))
    for name, factory in factories:
        if factory.accepts(source):
            return _build(name, factory, source, options)
    names = ", ".join(sorted(_entry_points(PluginGroup.CONNECTORS))) or "none"
    raise SourceError(
        f"no connector accepts {source!r}",
        f"installed connectors: {names}. Check the path exists, or install a connector plugin",
        source=source,
    )


def _build(name: str, factory: Any, source: str, options: dict[str, Any]) -> Any:
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [p for p in params if p not in ("self", "source")]
    if not takes_any and (unknown := sorted(set(options) - set(known))):
        raise ConfigError(
            f"the {name} connector takes no option {', '.join(unknown)} (source {source})",
            f"its options: {', '.join(known) or 'none'}",
        )
    return factory(source, **options)


#: the packaged readers: the extractive span reader (``span-reader``) answers by default; the
#: SmolLM2-135M-Instruct reader takes LoRA adapters (squad2-reader, ``adapters tune``'s)
SPAN_READER = "extractive"
DECODER_READER = "smollm2-135m-instruct"
#: the default ``--generator``: the span reader, or the SmolLM2 reader when an adapter is asked
#: for or the index's tuned one serves (docs/reader.md has the figures that chose it)
DEFAULT_GENERATOR = "auto"
DEFAULT_ADAPTER = "default"  # the generators' own default adapter
GENERATOR_HELP = (
    "a ragcore.generators plugin (default auto: the span reader, or the SmolLM2 reader when "
    "--adapter is given or the index's tuned adapter beat the span reader)"
)


def default_reader(adapter: str | None) -> str:
    """The generator ``DEFAULT_GENERATOR`` stands for, given the adapter asked for."""
    return SPAN_READER if adapter in (None, DEFAULT_ADAPTER) else DECODER_READER


def load_generator(
    name: str,
    model: str | None = None,
    *,
    endpoint: str | None = None,
    adapter: str | None = None,
) -> Any:
    """Build a ``ragcore.generators`` plugin with the options it takes (``DEFAULT_GENERATOR``:
    see ``default_reader``)."""
    if name == DEFAULT_GENERATOR:
        name = default_reader(adapter)
    factory = load(PluginGroup.GENERATORS, name)
    kwargs: dict[str, Any] = {}
    if endpoint:
        kwargs["base_url"] = endpoint
    if adapter is not None and name == DECODER_READER:
        kwargs["adapter"] = adapter
    params = inspect.signature(factory).parameters
    if unknown := [k for k in kwargs if k not in params]:
        raise ConfigError(
            f"generator {name} takes no {', '.join(unknown)} option",
            "drop it, or pick a generator that takes it (ragcore plugins)",
        )
    return factory(model, **kwargs) if model else factory(**kwargs)
