"""The git connector on a real repository the test commits to between syncs; indexing uses
the real default embedder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ragcore.connectors.git import GitConnector

from ragcore import Index
from ragcore.errors import SourceError
from ragcore.sources import open_source
from ragcore.types import DocumentRef, Skipped


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "HOME": str(repo),
    }
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env, check=True)
    return done.stdout.decode()


def commit(repo: Path, files: dict[str, str | bytes | None], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        if content is None:
            git(repo, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(
        repo,
        {
            "README.md": "# Lumen\n\nLumen is a gateway for internal APIs.\n",
            "docs/ports.md": "# Ports\n\nThe gateway listens on port 8443.\n",
            "src/app.py": "def main():\n    print('lumen')\n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary",
            "data.bin.txt": b"text name, binary \x00\x01 content",
        },
        "first",
    )
    return repo


def test_lists_text_files_at_the_branch_tip_and_skips_binaries(repo: Path) -> None:
    connector = open_source(str(repo))  # wrapped to apply the source's access groups
    assert isinstance(connector.inner, GitConnector) and connector.scope.endswith("@main")
    items = list(connector.list())
    refs = {i.metadata["path"]: i for i in items if isinstance(i, DocumentRef)}
    assert sorted(refs) == ["README.md", "data.bin.txt", "docs/ports.md", "src/app.py"]
    doc = connector.load(refs["docs/ports.md"])
    assert doc.title == "Ports" and doc.metadata["author"] == "Ada" and "8443" in doc.text
    with pytest.raises(SourceError, match="binary"):
        connector.load(refs["data.bin.txt"])
    assert not any(isinstance(i, Skipped) for i in items)


def test_not_a_repository_or_a_missing_branch_is_a_clear_error(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a git repository"):
        GitConnector(str(tmp_path))
    with pytest.raises(SourceError, match="not a git repository"):
        GitConnector(str(repo / "docs"))  # a folder inside a repository is not its root
    with pytest.raises(SourceError, match="no branch or commit 'nope'"):
        list(GitConnector(str(repo), branch="nope").list())


@pytest.mark.slow
def test_sync_applies_the_diff_between_synced_commits(repo: Path, tmp_path: Path) -> None:
    with Index.open(tmp_path / "idx", create=True) as index:
        r = index.ingest([str(repo)], quiet=True)
        assert (r.added, r.changed, r.deleted) == (3, 0, 0)  # the binary one is skipped
        assert [(s.source.rsplit("/", 1)[1], s.reason) for s in r.skipped] == [
            ("data.bin.txt", "binary file")
        ]
        first = git(repo, "rev-parse", "HEAD").strip()

        (repo / "docs" / "ports.md").write_text("# Ports\n\nUncommitted: port 1.\n")
        r = index.ingest([str(repo)], quiet=True)  # the working copy is not what is indexed
        assert (r.changed, r.unchanged) == (0, 3)
        git(repo, "checkout", "-q", "--", "docs/ports.md")

        second = commit(
            repo,
            {
                "docs/ports.md": "# Ports\n\nThe gateway now listens on port 9443.\n",
                "src/app.py": None,
                "docs/vpn.md": "# VPN\n\nUse the lumen-vpn client.\n",
            },
            "second",
        )
        git(repo, "mv", "README.md", "OVERVIEW.md")
        git(repo, "commit", "-q", "-m", "rename")
        diff = git(repo, "diff", "--name-status", "--no-renames", first, "HEAD").split("\n")
        r = index.ingest([str(repo)], quiet=True)
        expected = {"A": 0, "M": 0, "D": 0}
        for line in filter(None, diff):
            expected[line[0]] += 1
        assert (r.added, r.changed, r.deleted) == (expected["A"], expected["M"], expected["D"])
        assert (r.added, r.changed, r.deleted) == (2, 1, 2)
        assert second != first
        top = index.search("which port does the gateway listen on", k=1).hits[0]
        assert "9443" in top.chunk.text and top.chunk.metadata["commit"] != first
        paths = {c.metadata["path"] for c in index.chunks()}
        assert paths == {"OVERVIEW.md", "docs/ports.md", "docs/vpn.md"}
