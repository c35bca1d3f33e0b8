"""Files of a git repository at the tip of a branch: Markdown, text and source code.

The source is a repository path or ``file://`` URL (a working copy or a bare repository),
``git+file://...`` to be explicit; option ``branch`` (default: the repository's HEAD). The
committed tree is read, never the working copy, so uncommitted edits are not indexed.

Each file's change token is its blob id, so a sync applies exactly ``git diff --name-status``
between the last synced commit (the checkpoint) and the new one: added, modified, deleted
and renamed files (a rename is a delete plus an add). Unchanged files are not read.
Binary files and files over ``max_bytes`` are skipped with a reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ragcore.connectors.readers import read_markdown

from ragcore.errors import SourceError
from ragcore.ids import document_id
from ragcore.types import Document, DocumentRef, Skipped

TEXT_SUFFIXES = frozenset(
    {
        *(".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc"),
        *(".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".kt", ".scala"),
        *(".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".sh", ".bash"),
        *(".sql", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".json", ".html", ".css", ".proto"),
    }
)
TEXT_NAMES = frozenset({"README", "LICENSE", "CHANGELOG", "Makefile", "Dockerfile", "NOTICE"})


def _repo_path(source: str) -> Path:
    path = source.removeprefix("git+").removeprefix("file://")
    return Path(path).expanduser()


class GitConnector:
    priority = 5

    def __init__(
        self, source: str, *, branch: str | None = None, max_bytes: int | str = 1_000_000
    ) -> None:
        self.repo = _repo_path(source).resolve()
        if not self._git_dir_ok():
            raise SourceError(
                f"{source}: not a git repository",
                "give the repository's root (the folder holding .git), or use "
                "--connector filesystem to index a plain folder",
                source=source,
            )
        self.branch = branch or self._git("symbolic-ref", "--short", "-q", "HEAD").strip() or "HEAD"
        self.max_bytes = int(max_bytes)
        self.scope = f"git+{self.repo.as_uri()}@{self.branch}"
        self.commit: str | None = None
        self.previous: str | None = None
        self._blobs: dict[str, str] = {}

    @staticmethod
    def accepts(source: str) -> bool:
        if source.startswith("git+"):
            return True
        if "://" in source and not source.startswith("file://"):
            return False
        path = _repo_path(source)
        return (path / ".git").exists() or (path.suffix == ".git" and (path / "HEAD").exists())

    def _git_dir_ok(self) -> bool:
        """The source is a repository's root (or a bare repository), not a folder inside one."""
        try:
            if self._git("rev-parse", "--is-bare-repository").strip() == "true":
                return Path(self._git("rev-parse", "--absolute-git-dir").strip()) == self.repo
            return Path(self._git("rev-parse", "--show-toplevel").strip()).resolve() == self.repo
        except SourceError:
            return False

    def _git(self, *args: str, binary: bool = False) -> Any:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.repo), *args], capture_output=True, check=False
            )
        except OSError as exc:
            raise SourceError(f"cannot run git: {exc}", "install git") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceError(
                f"{self.repo}: git {args[0]} failed: {message[-1] if message else done.returncode}",
                "check the repository and the branch option",
                source=str(self.repo),
            )
        return done.stdout if binary else done.stdout.decode("utf-8", "replace")

    def restore(self, state: Mapping[str, Any]) -> None:
        self.previous = state.get("commit")

    def checkpoint(self) -> Mapping[str, Any]:
        return {"commit": self.commit} if self.commit else {}

    def list(self) -> Iterator[DocumentRef | Skipped]:
        try:
            self.commit = self._git(
                "rev-parse", "--verify", "-q", f"{self.branch}^{{commit}}"
            ).strip()
        except SourceError:
            raise SourceError(
                f"{self.scope}: no branch or commit {self.branch!r}",
                "pass -o branch=NAME with an existing branch",
                source=self.scope,
            ) from None
        listing = self._git(
            "ls-tree", "-r", "-z", "--long", "--full-tree", self.commit, binary=True
        )
        self._blobs = {}
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, sha, size = meta.decode().split()
            path = raw_path.decode("utf-8", "replace")
            name = Path(path).name
            if kind != "blob" or mode == "120000":  # submodules and symlinks
                continue
            if Path(path).suffix.lower() not in TEXT_SUFFIXES and name not in TEXT_NAMES:
                continue
            uri = f"{self.scope}/{path}"
            if int(size) > self.max_bytes:
                yield Skipped(uri, f"{size} bytes is over max_bytes={self.max_bytes}")
                continue
            self._blobs[uri] = sha
            yield DocumentRef(
                document_id(uri),
                uri,
                f"blob:{sha}",
                {"path": path, "commit": self.commit, "branch": self.branch},
            )

    def load(self, ref: DocumentRef) -> Document:
        sha = ref.change_token.removeprefix("blob:")
        data: bytes = self._git("cat-file", "blob", sha, binary=True)
        if b"\0" in data[:8192]:
            raise SourceError("binary file", "only text files are indexed", ref.source)
        path = str(ref.metadata["path"])
        extracted = read_markdown(data)
        log = self._git("log", "-1", "--format=%an%x00%aI", str(self.commit), "--", path).strip()
        author, _, when = log.partition("\0")
        meta = dict(ref.metadata) | {"title": extracted.title or Path(path).name}
        if author:
            meta |= {"author": author, "updated_at": when}
        return Document(ref.id, ref.source, extracted.text, ref.change_token, meta)
