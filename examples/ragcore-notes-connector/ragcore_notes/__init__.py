"""Notes in a JSON file as a ragcore connector (``notes:///abs/path/notes.json``).

The whole contract: ``scope``, ``accepts``, ``list`` (cheap: ids, change tokens, metadata)
and ``load`` (the text). Errors are ``SourceError`` with the failing source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragcore.errors import SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef, Skipped

__version__ = "0.1.0"


class NotesConnector:
    def __init__(self, source: str) -> None:
        self.path = Path(source.removeprefix("notes://"))
        self.scope = f"notes://{self.path}"
        self._notes: dict[str, dict[str, Any]] = {}

    @staticmethod
    def accepts(source: str) -> bool:
        return source.startswith("notes://")

    def list(self) -> Iterator[DocumentRef | Skipped]:
        try:
            notes = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:  # the whole source fails: the index keeps it all
            raise SourceError(
                f"cannot read notes file {self.path}: {exc}",
                "check the path and that it holds a JSON list of notes",
                source=self.scope,
            ) from None
        for note in notes:
            if not isinstance(note, dict) or "id" not in note:
                yield Skipped(self.scope, f"a note without an id: {str(note)[:60]}")
                continue
            source = f"{self.scope}/{note['id']}"
            self._notes[source] = note
            yield DocumentRef(
                id=document_id(source),
                source=source,
                change_token=content_hash(json.dumps(note, sort_keys=True)),
                metadata={
                    "title": note.get("title", ""),
                    "author": note.get("author", ""),
                    "updated_at": note.get("updated_at", ""),
                    "access": note.get("groups", []),
                },
            )

    def load(self, ref: DocumentRef) -> Document:
        note = self._notes[ref.source]
        text = str(note.get("text", ""))
        return Document(ref.id, ref.source, text, content_hash(text), dict(ref.metadata))
