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
