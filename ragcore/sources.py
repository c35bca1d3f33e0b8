"""Sources as configured: ``[[sources]]`` tables in ``ragcore.toml`` and ``ragcore ingest``
arguments, turned into connectors.

A source names its URI (a path, ``http(s)://`` start URL, SQLAlchemy URL, git repository),
optionally the connector plugin to use, connector options, and default access groups for
documents whose connector gives them none. Those groups belong to the source: the index
remembers them per source scope, so a re-sync that names no groups keeps them, and only
``public`` (``ingest --public``) makes a private source public.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ragcore import plugins
from ragcore.errors import ConfigError
from ragcore.protocols import ClosingConnector, Connector, StatefulConnector
from ragcore.types import Document, DocumentRef, MetadataKey, Skipped, access_groups


@dataclass(frozen=True)
class SourceSpec:
    uri: str
    connector: str | None = None
    access: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    public: bool = False  # documents without groups of their own are public, whatever before

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "access", access_groups({"access": list(self.access)}))
        if self.public and self.access:
            raise ConfigError(
                f"source {self.uri} is given access groups and made public at once",
                "drop --public (public = true) or the access groups",
            )

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> SourceSpec:
        """A ``[[sources]]`` table: ``uri`` (required), ``connector``, ``access``; every other
        key is a connector option."""
        data = dict(table)
        uri = data.pop("uri", None)
        if not isinstance(uri, str) or not uri:
            raise ConfigError(
                f"{where}: a [[sources]] table has no uri",
                'add uri = "docs/" (a path, http(s) URL, SQLAlchemy URL or git repository)',
            )
        access = data.pop("access", ())
        if isinstance(access, str):
            access = [access]
        public = data.pop("public", False)
        if not isinstance(public, bool):
            raise ConfigError(
                f"{where}: public = {public!r} in the [[sources]] table of {uri} is not a boolean",
                "write public = true or public = false",
            )
        connector = data.pop("connector", None)
        return cls(uri, connector, tuple(access), data, public)


class SourceAccess:
    """Gives documents that carry no access groups of their own the source's groups (on the
    listed refs: the sync engine takes a document's groups from what was listed). ``spec``:
    the configured source it was opened from, which the index remembers to open it again.
    ``groups`` None: the source named none, so the groups the index remembers for its scope
    apply (``Index.ingest`` resolves them with ``remembering``)."""

    def __init__(
        self, inner: Connector, groups: tuple[str, ...] | None, spec: SourceSpec | None = None
    ) -> None:
        self.inner, self.groups, self.spec = inner, groups, spec
        self.scope = inner.scope

    def remembering(self, remembered: tuple[str, ...]) -> SourceAccess:
        if self.groups is not None:
            return self
        return SourceAccess(self.inner, remembered, self.spec)

    def _with_groups(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        meta = dict(metadata)
        if not access_groups(meta):
            meta[MetadataKey.ACCESS.value] = list(self.groups or ())
        return meta

    def list(self) -> Iterable[DocumentRef | Skipped]:
        for item in self.inner.list():
            yield (
                item
                if isinstance(item, Skipped)
                else replace(item, metadata=self._with_groups(item.metadata))
            )

    def load(self, ref: DocumentRef) -> Document:
        return self.inner.load(ref)

    def restore(self, state: Mapping[str, Any]) -> None:
        if isinstance(self.inner, StatefulConnector):
            self.inner.restore(state)

    def checkpoint(self) -> Mapping[str, Any]:
        return self.inner.checkpoint() if isinstance(self.inner, StatefulConnector) else {}

    def close(self) -> None:
        if isinstance(self.inner, ClosingConnector):
            self.inner.close()


def open_source(spec: SourceSpec | str) -> SourceAccess:
    """The connector for a source (raises ``SourceError``/``ConfigError`` before any write)."""
    if isinstance(spec, str):
        spec = SourceSpec(spec)
    connector = plugins.connector_for(spec.uri, spec.connector, spec.options)
    return SourceAccess(connector, spec.access or (() if spec.public else None), spec)
