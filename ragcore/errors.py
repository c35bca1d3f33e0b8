"""Errors users can act on: each names the problem and the fix.

The CLI prints ``error: <message>`` and ``hint: <hint>`` and exits non-zero, never a traceback.
"""

from __future__ import annotations


class RagcoreError(Exception):
    """Base class. ``hint`` says what to do about it."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RagcoreError):
    """Invalid configuration or flag value."""


class IndexNotFoundError(RagcoreError):
    """No index exists at the given location."""


class EmptyIndexError(RagcoreError):
    """The index exists but holds no chunks."""


class IncompatibleIndexError(RagcoreError):
    """The index was made by an incompatible ragcore version or with other settings."""


class SourceError(RagcoreError):
    """A source (file, folder, URL, database, repository) cannot be read. ``source`` names the
    failing source or item when the raiser knows it."""

    def __init__(self, message: str, hint: str = "", source: str = "") -> None:
        super().__init__(message, hint)
        self.source = source


class PluginError(RagcoreError):
    """A plugin is missing or failed to load."""


class StoreError(RagcoreError):
    """The vector store refused an operation or cannot be reached."""


class DamagedShardError(StoreError):
    """The embedded shard's files are damaged; ``ragcore check --repair`` rebuilds it."""


class IndexBusyError(RagcoreError):
    """Another process holds the index (see ``ragcore.locking``); nothing was changed."""

    exit_code = 3
