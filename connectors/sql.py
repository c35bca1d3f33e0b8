"""Rows of a database table or query, through any SQLAlchemy URL (``sqlite:///kb.db``,
``postgresql+psycopg://user@host/db``, ...): one row is one document.

Options name the columns: ``id_column`` (required to be unique), ``text_column``, and
optionally ``title_column``, ``author_column``, ``updated_at_column`` and ``access_column``
(groups as an array or a comma-separated string). Give ``table`` or ``query``.

The change token is the ``version_column`` when one is given (a row version, or
``updated_at``): listing then reads only ids and versions, and ``load`` fetches a changed row.
Without it the token is a hash of the row's indexed columns, which listing must read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from ragcore.errors import SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef, Skipped

_NOT_SQL = ("http", "https", "file", "git", "ssh")


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return None if value is None else str(value)


class SqlConnector:
    priority = 0

    def __init__(
        self,
        source: str,
        *,
        table: str | None = None,
        query: str | None = None,
        id_column: str = "id",
        text_column: str = "text",
        title_column: str | None = None,
        author_column: str | None = None,
        updated_at_column: str | None = None,
        access_column: str | None = None,
        version_column: str | None = None,
    ) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if (table is None) == (query is None):
            raise SourceError(
                f"{source}: give exactly one of table and query",
                "e.g. -o table=articles, or -o query='SELECT id, body FROM articles'",
                source=source,
            )
        try:
            self.url = make_url(source)
        except ArgumentError as exc:
            raise SourceError(f"not an SQLAlchemy URL: {exc}", "e.g. sqlite:///kb.db") from None
        self.source = source
        self.table, self.query = table, query
        self.columns = {
            "id": id_column,
            "text": text_column,
            "title": title_column,
            "author": author_column,
            "updated_at": updated_at_column,
            "access": access_column,
            "version": version_column,
        }
        where = (
            f"table/{table}"
            if table
            else "query/" + hashlib.sha256((query or "").encode()).hexdigest()[:12]
        )
        self.scope = f"{self.url.render_as_string(hide_password=True)}/{where}"
        self._rows: dict[str, dict[str, Any]] = {}
        self._ids: dict[str, Any] = {}  # source URI -> the row's id, typed as the database has it
        self._engine: Any = None

    @staticmethod
    def accepts(source: str) -> bool:
        """URLs whose scheme names an SQLAlchemy dialect (``sqlite``, ``postgresql+psycopg``)."""
        scheme, sep, _ = source.partition("://")
        if not sep or scheme.split("+")[0].lower() in _NOT_SQL:
            return False
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            make_url(source).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError):
            return False
        except ImportError:
            return True  # a known dialect whose driver is missing: say so when connecting
        return True

    def _fail(self, what: str, exc: Exception) -> SourceError:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        hint = "check the URL, that the server is up, and the table/query and column options"
        return SourceError(f"{self.scope}: {what}: {detail}", hint, source=self.scope)

    def _connect(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import SQLAlchemyError

        if self._engine is None:
            try:
                self._engine = create_engine(self.url)
            except (SQLAlchemyError, ImportError) as exc:
                raise self._fail("cannot open the database", exc) from None
        return self._engine

    def _relation(self) -> Any:
        import sqlalchemy as sa

        if self.table is not None:
            schema, _, name = self.table.rpartition(".")
            return sa.table(name, schema=schema or None)
        return sa.text(self.query or "").columns().subquery("src")

    def _select(self, names: list[str], where_id: Any = None) -> Any:
        import sqlalchemy as sa

        rel = self._relation()
        cols = [sa.column(c) for c in names]
        stmt = sa.select(*cols).select_from(rel)
        if where_id is not None:
            stmt = stmt.where(sa.column(self.columns["id"]) == where_id)
        return stmt

    def _check_columns(self, conn: Any) -> None:
        import sqlalchemy as sa

        available = list(
            conn.execute(sa.select(sa.text("*")).select_from(self._relation()).limit(0)).keys()
        )
        wanted = {k: v for k, v in self.columns.items() if v}
        missing = [f"{k}_column={v!r}" for k, v in wanted.items() if v not in available]
        if missing:
            raise SourceError(
                f"{self.scope}: no such column: {', '.join(missing)}",
                f"columns available: {', '.join(available)}",
                source=self.scope,
            )

    def _uri(self, row_id: Any) -> str:
        return f"{self.scope}/{quote(str(row_id), safe='')}"

    def list(self) -> Iterator[DocumentRef | Skipped]:
        from sqlalchemy.exc import SQLAlchemyError

        version = self.columns["version"]
        fields = ["title", "author", "updated_at", "access"]
        names = [self.columns["id"], *(self.columns[f] for f in fields if self.columns[f])]
        if version:
            names.append(version)
        else:
            names.append(self.columns["text"])
        names = list(dict.fromkeys(names))
        self._rows, self._ids = {}, {}
        try:
            with self._connect().connect() as conn:
                self._check_columns(conn)
                rows = conn.execute(self._select(names)).mappings().all()
        except SQLAlchemyError as exc:
            raise self._fail("cannot read rows", exc) from None
        for row in rows:
            row_id = row[self.columns["id"]]
            if row_id is None:
                yield Skipped(self.scope, "a row has a NULL id; it is not indexed")
                continue
            uri = self._uri(row_id)
            self._ids[uri] = row_id
            meta: dict[str, Any] = {"row_id": str(row_id)}
            for f in fields:
                col = self.columns[f]
                if col and row[col] is not None:
                    value = row[col]
                    meta[f] = _iso(value) if f == "updated_at" else value
                    if f == "access" and not isinstance(value, str):
                        meta[f] = [str(g) for g in value]
            if version:
                token = f"version:{row[version]}"
            else:
                text = row[self.columns["text"]]
                token = content_hash(repr((text, sorted(meta.items(), key=str))))
                self._rows[uri] = dict(row)
            yield DocumentRef(document_id(uri), uri, token, meta)

    def load(self, ref: DocumentRef) -> Document:
        from sqlalchemy.exc import SQLAlchemyError

        text_col = self.columns["text"]
        row = self._rows.get(ref.source)
        if row is None:
            try:
                with self._connect().connect() as conn:
                    found = (
                        conn.execute(self._select([text_col], where_id=self._ids.get(ref.source)))
                        .mappings()
                        .first()
                    )
            except SQLAlchemyError as exc:
                raise self._fail("cannot read the row", exc) from None
            if found is None:
                raise SourceError("the row was deleted while syncing", "re-run the sync")
            row = dict(found)
        text = row[text_col]
        if isinstance(text, bytes):
            raise SourceError(
                f"column {text_col!r} holds binary data", "index a text column", ref.source
            )
        text = "" if text is None else str(text)
        return Document(ref.id, ref.source, text, content_hash(text), dict(ref.metadata))
