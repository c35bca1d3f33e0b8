from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from ragcore import Index

DEMO_DOCS = Path(str(files("ragcore") / "demo_docs"))


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    """The bundled demo docs indexed once with the default (real) embedder."""
    directory = tmp_path_factory.mktemp("demo") / "index"
    index = Index.open(directory, create=True)
    index.ingest([DEMO_DOCS], quiet=True)
    yield index
    index.close()


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """A small, editable copy of three demo documents."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("authentication.md", "gateway.md", "faq.txt"):
        shutil.copy(DEMO_DOCS / name, folder / name)
    return folder


def index_public_and_staff(root: Path) -> Path:
    """An index at ``root/idx`` of two public demo documents and one staff-only document (a
    password vault, matching the query "how do I reset my password"); returns its folder."""
    from ragcore.sources import SourceSpec

    public, staff = root / "public", root / "staff"
    public.mkdir()
    staff.mkdir()
    for name in ("authentication.md", "gateway.md"):
        shutil.copy(DEMO_DOCS / name, public / name)
    (staff / "vault.md").write_text(
        "# Password vault\n\nTo reset my password for the staff vault, ask the vault keeper "
        "Ingrid; the vault combination is 7741.\n"
    )
    with Index.open(root / "idx", create=True) as index:
        index.ingest([public, SourceSpec(str(staff), access=("staff",))], quiet=True)
    return root / "idx"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server on 127.0.0.1 (Debian's packages; ``.ci/run`` installs them),
    started in a temporary directory for this test session. Skipped only where PostgreSQL
    is not installed, unless RAGCORE_REQUIRE_POSTGRES=1 (as in CI) makes that a failure."""
    import os
    import socket
    import subprocess
    import tempfile

    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("RAGCORE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (RAGCORE_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="ragcore-pg-"))  # pytest's own tmp is root-only
    data = base / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    shutil.rmtree(base, ignore_errors=True)
