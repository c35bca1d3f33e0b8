"""Files and folders on local disk: ``.md .txt .html .pdf .docx``.

Change token = SHA-256 of the file's bytes, so unchanged files are skipped even when touched.
Hidden files and folders (``.git``, ``.ragcore``...) are not walked; files of other types in a
folder are ignored, while a single file of an unsupported type is an error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from ragcore.connectors.readers import EXTENSIONS, READERS

from ragcore.errors import SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef, Skipped


class FilesystemConnector:
    """Connector for a file or a folder (recursively). It claims any source without a scheme,
    so it comes last (``priority = -1``): a git repository's root goes to the git connector
    unless ``--connector filesystem`` is given."""

    priority = -1

    def __init__(self, source: str) -> None:
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
                data = path.read_bytes()
                stat = path.stat()
            except OSError as exc:
                yield Skipped(uri, f"unreadable file: {exc.strerror}")
                continue
            yield DocumentRef(
                id=document_id(uri),
                source=uri,
                change_token=content_hash(data),
                metadata={
                    "path": str(path.relative_to(self.root)) if path != self.root else path.name,
                    "file_type": EXTENSIONS[path.suffix.lower()].value,
                    "size": stat.st_size,
                    "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime)),
                },
            )
        yield from self._walk_errors

    def load(self, ref: DocumentRef) -> Document:
        path = path_from_uri(ref.source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"unreadable file: {exc.strerror}", "check permissions") from None
        kind = EXTENSIONS[path.suffix.lower()]
        extracted = READERS[kind](data)
        return Document(
            id=ref.id,
            source=ref.source,
            text=extracted.text,
            content_hash=content_hash(data),
            metadata=dict(ref.metadata) | {"title": extracted.title or path.stem},
        )


def path_from_uri(uri: str) -> Path:
    """Inverse of ``Path.as_uri`` (``Path.from_uri`` needs Python 3.13)."""
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))
