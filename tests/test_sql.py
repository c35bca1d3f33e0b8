"""The SQL connector on SQLite and on a real PostgreSQL server, rows inserted, updated and
deleted between syncs; indexing uses the real default embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from ragcore.connectors.sql import SqlConnector

from ragcore import Index
from ragcore.errors import SourceError
from ragcore.sources import SourceSpec

ROWS = [
    (1, "Password resets", "Reset a password from the login page with the Forgot link.", "all"),
    (2, "Gateway ports", "The gateway listens on port 8443 for TLS traffic.", "ops"),
    (3, "Payroll", "Payroll runs on the 25th of every month.", "hr,finance"),
]


def _make(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS kb"))
        conn.execute(
            sa.text(
                "CREATE TABLE kb (id INTEGER PRIMARY KEY, title TEXT, body TEXT, "
                "acl TEXT, version INTEGER NOT NULL DEFAULT 1)"
            )
        )
        for row in ROWS:
            conn.execute(
                sa.text("INSERT INTO kb (id, title, body, acl) VALUES (:i, :t, :b, :a)"),
                dict(zip("itba", row, strict=True)),
            )
    return engine


OPTIONS = {"table": "kb", "text_column": "body", "title_column": "title", "access_column": "acl"}


def _sync_cycle(url: str, tmp_path: Path, version: bool) -> None:
    engine = _make(url)
    options = OPTIONS | ({"version_column": "version"} if version else {})
    spec = SourceSpec(url, options=options)
    with Index.open(tmp_path / "idx", create=True) as index:
        r = index.ingest([spec], quiet=True)
        assert (r.added, r.changed, r.deleted) == (3, 0, 0) and r.ok
        again = index.ingest([spec], quiet=True)
        assert (again.unchanged, again.chunks_written) == (3, 0)

        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE kb SET body = :b, version = version + 1 WHERE id = 2"),
                {"b": "The gateway now listens on port 9443."},
            )
            conn.execute(sa.text("DELETE FROM kb WHERE id = 3"))
            conn.execute(
                sa.text("INSERT INTO kb (id, title, body, acl) VALUES (4, 'VPN', :b, 'ops')"),
                {"b": "Connect to the VPN with the lumen-vpn client."},
            )
        r = index.ingest([spec], quiet=True)
        assert (r.added, r.changed, r.deleted, r.unchanged) == (1, 1, 1, 1), r
        hits = index.search("which port does the gateway listen on", k=1, groups=["ops"]).hits
        assert "9443" in hits[0].chunk.text and hits[0].chunk.metadata["title"] == "Gateway ports"
        # access comes from the acl column; no row is public ('all' is a group too)
        titles = {
            tuple(g): {h.chunk.metadata["title"] for h in index.search("port", k=10, groups=g).hits}
            for g in ([], ["hr"], ["all"], ["ops"], ["ops", "all"])
        }
        assert titles == {
            (): set(),
            ("hr",): set(),  # the payroll row was deleted
            ("all",): {"Password resets"},
            ("ops",): {"Gateway ports", "VPN"},
            ("ops", "all"): {"Gateway ports", "VPN", "Password resets"},
        }
    engine.dispose()


@pytest.mark.slow
def test_sqlite_sync_inserts_updates_deletes(tmp_path: Path) -> None:
    _sync_cycle(f"sqlite:///{tmp_path / 'kb.db'}", tmp_path, version=False)


@pytest.mark.slow
def test_postgres_sync_with_a_version_column(tmp_path: Path, postgres_url: str) -> None:
    _sync_cycle(postgres_url, tmp_path, version=True)


def test_bad_input_names_the_problem(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _make(url).dispose()
    with pytest.raises(SourceError, match=r"text_column='bodyy'.*") as info:
        list(SqlConnector(url, table="kb", text_column="bodyy").list())
    assert "columns available: id, title, body, acl, version" in info.value.hint
    with pytest.raises(SourceError, match="exactly one of table and query"):
        SqlConnector(url)
    with pytest.raises(SourceError, match="cannot read rows"):
        list(SqlConnector(url, table="nope", text_column="body").list())
    query = SqlConnector(url, query="SELECT id, body FROM kb WHERE id < 3", text_column="body")
    refs = list(query.list())
    assert [r.metadata["row_id"] for r in refs] == ["1", "2"]
    assert query.load(refs[1]).text.startswith("The gateway")
    assert SqlConnector.accepts("postgresql+psycopg://u@h/db") and not SqlConnector.accepts("x/y")


def test_unreachable_server_is_a_source_error() -> None:
    connector = SqlConnector("postgresql+psycopg://nobody@127.0.0.1:1/none", table="kb")
    with pytest.raises(SourceError, match="cannot read rows") as info:
        list(connector.list())
    assert info.value.source == connector.scope and "password" not in connector.scope
