"""Files and folders on local disk: ``.md .txt .html .pdf .docx``.

Change token = SHA-256 of the file's bytes, so unchanged files are skipped even when touched.
Hidden files and folders (``.git``, ``.ragcore``...) are not walked; files of other types in a
folder are ignored, while a single file of an unsupported type is an error.

One bad file never stops the others: only regular files are read (a FIFO, a device or a
symlink to one is skipped, so nothing blocks or reads without end), a file over
``max_file_mb`` or whose extracted text is over ``max_text_mb`` is skipped with the limit named
(``ingest -o max_file_mb=200``), and a reader that fails on a file (a corrupt or hostile
document) skips that file.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragcore.connectors.readers import EXTENSIONS, READERS

from ragcore.errors import ConfigError, RagcoreError, SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef, Skipped


class FilesystemConnector:
    """Connector for a file or a folder (recursively). It claims any source without a scheme,
    so it comes last (``priority = -1``): a git repository's root goes to the git connector
    unless ``--connector filesystem`` is given."""

    priority = -1

    def __init__(
        self, source: str, *, max_file_mb: float | str = 64.0, max_text_mb: float | str = 8.0
    ) -> None:
        self.max_file_bytes = int(_megabytes("max_file_mb", max_file_mb) * 2**20)
        self.max_text_chars = int(_megabytes("max_text_mb", max_text_mb) * 2**20)
        path = Path(source.removeprefix("file://")).expanduser()
        if not path.exists():
            raise SourceError(f"{source}: no such file or directory", "check the path")
        self.root = path.resolve()
        self.scope = self.root.as_uri()
        if self.root.is_file() and self.root.suffix.lower() not in EXTENSIONS:
            raise SourceError(
                f"{source}: unsupported file type {self.root.suffix or '(none)'!r}",
                f"supported: {', '.join(sorted(EXTENSIONS))}",
            )
        self.ignored = 0

    @staticmethod
    def accepts(source: str) -> bool:
        return source.startswith("file://") or "://" not in source

    def _files(self) -> Iterator[Path]:
        if self.root.is_file():
            yield self.root
            return
        for dirpath, dirnames, filenames in os.walk(self.root, onerror=self._walk_error):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                if Path(name).suffix.lower() in EXTENSIONS:
                    yield Path(dirpath, name)
                else:
                    self.ignored += 1

    def _walk_error(self, exc: OSError) -> None:
        self._walk_errors.append(
            Skipped(Path(exc.filename).as_uri(), f"unreadable folder: {exc.strerror}")
        )

    def list(self) -> Iterator[DocumentRef | Skipped]:
        self.ignored = 0
        self._walk_errors: list[Skipped] = []
        for path in self._files():
            uri = path.as_uri()
            try:
                info = path.stat()  # follows a symlink: what would be read
                if not stat.S_ISREG(info.st_mode):
                    yield Skipped(uri, f"not a regular file ({_kind(info.st_mode)}): not read")
                    continue
                if info.st_size > self.max_file_bytes:
                    yield Skipped(uri, self._too_large("file", info.st_size, "max_file_mb"))
                    continue
                data = self._read(path)
            except OSError as exc:
                yield Skipped(uri, f"unreadable file: {exc.strerror}")
                continue
            except SourceError as exc:
                yield Skipped(uri, exc.message)
                continue
            shown = path.relative_to(self.root) if path != self.root else path.name
            yield DocumentRef(
                id=document_id(uri),
                source=uri,
                change_token=content_hash(data),
                metadata={
                    "path": _display(shown),
                    "file_type": EXTENSIONS[path.suffix.lower()].value,
                    "size": info.st_size,
                    "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.st_mtime)),
                },
            )
        yield from self._walk_errors

    def load(self, ref: DocumentRef) -> Document:
        path = path_from_uri(ref.source)
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                raise SourceError("not a regular file any more: not read", "")
            data = self._read(path)
        except OSError as exc:
            raise SourceError(f"unreadable file: {exc.strerror}", "check permissions") from None
        kind = EXTENSIONS[path.suffix.lower()]
        try:
            extracted = READERS[kind](data)
        except RagcoreError:
            raise
        except Exception as exc:  # a parser's failure on a corrupt or hostile file skips it
            raise SourceError(
                f"cannot read this {kind.value} file ({type(exc).__name__}: {exc})"[:300],
                "the file is skipped; repair or remove it",
            ) from None
        if len(extracted.text) > self.max_text_chars:
            raise SourceError(
                self._too_large("extracted text", len(extracted.text), "max_text_mb"), ""
            )
        return Document(
            id=ref.id,
            source=ref.source,
            text=extracted.text,
            content_hash=content_hash(data),
            metadata=dict(ref.metadata) | {"title": extracted.title or _display(path.stem)},
        )

    def _read(self, path: Path) -> bytes:
        """The file's bytes, never more than the limit (a file may grow while it is read)."""
        with open(path, "rb") as fh:
            data = fh.read(self.max_file_bytes + 1)
        if len(data) > self.max_file_bytes:
            raise SourceError(self._too_large("file", len(data), "max_file_mb"), "")
        return data

    @staticmethod
    def _too_large(what: str, size: int, option: str) -> str:
        return f"{what} of {size / 2**20:.1f} MB is over the limit: skipped (raise -o {option}=N)"


def _megabytes(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"filesystem option {name}={value!r} is not a number", f"e.g. -o {name}=64"
        ) from None
    if not number > 0 or number != number or number == float("inf"):
        raise ConfigError(f"filesystem option {name}={value!r} must be > 0", f"e.g. {name}=64")
    return number


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def _display(name: str | Path) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates, which no
    JSON payload can hold) become U+FFFD; the URI keeps the exact bytes."""
    return os.fsencode(name).decode("utf-8", errors="replace")


def path_from_uri(uri: str) -> Path:
    """Inverse of ``Path.as_uri`` (``Path.from_uri`` needs Python 3.13)."""
    from urllib.parse import unquote_to_bytes, urlparse

    # bytes, then the OS's own decoding: a name that is not UTF-8 round-trips as as_uri wrote it
    return Path(os.fsdecode(unquote_to_bytes(urlparse(uri).path)))
