"""Rebuild the docs corpora that ``benchmarks/data/*-docs-questions.jsonl`` (eval sets) and
``benchmarks/data/training/*-questions.jsonl`` (the ``adapters train-docs`` sets) were written
over.

The question sets are committed; the pages are not (they are other projects' docs). Each corpus
is a fixed list of markdown pages at a fixed commit, copied verbatim from a clone of the
project (any clone that has the commit; a plain ``git clone`` or a mirror):

    git clone https://github.com/pypa/hatch /tmp/hatch
    python benchmarks/docs_corpora.py hatch /tmp/hatch hatch-docs
    ragcore ingest hatch-docs --index hatch-docs-index --quiet
    ragcore eval diagnose benchmarks/data/hatch-docs-questions.jsonl --index hatch-docs-index

The training sets (uv1 and uv2 both over ``uv``; rye, black and starlette over their own)
were indexed with 128-token chunks:

    python benchmarks/docs_corpora.py uv /tmp/uv uv-docs
    ragcore ingest uv-docs --index idx_uv --chunk-size 128 --chunk-overlap 16 --quiet

A page is written as its path under ``docs/`` with ``/`` replaced by ``_`` (the ``source`` the
questions name). docs/reader.md has the figures measured on each set.
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DocsCorpus:
    repo: str  # GitHub owner/name
    commit: str
    pages: tuple[str, ...] = ()  # paths under docs/, without .md; () = every .md page there


CORPORA = {
    # 31 answerable questions, written 2026-12-06; they chose the answer candidates' constants
    "pdm": DocsCorpus(
        "pdm-project/pdm",
        "a7e9d0015b4d5ca5d1b0c558582f9bf41b2fdf54",
        (
            "index",
            "usage/advanced",
            "usage/config",
            "usage/dependency",
            "usage/hooks",
            "usage/lockfile",
            "usage/project",
            "usage/publish",
            "usage/scripts",
            "usage/venv",
            "usage/template",
            "usage/uv",
            "reference/build",
            "reference/pep621",
        ),
    ),
    # 44 answerable and 25 unanswerable questions (not in these 17 pages), written 2026-12-06
    "hatch": DocsCorpus(
        "pypa/hatch",
        "ed8e30bebf98f2fe4d70c18a32a50a8160c391cb",
        (
            "config/build",
            "config/environment/overview",
            "config/metadata",
            "config/dependency",
            "environment",
            "version",
            "publish",
            "build",
            "config/hatch",
            "plugins/builder/wheel",
            "plugins/builder/sdist",
            "plugins/environment/virtual",
            "plugins/publisher/package-index",
            "plugins/version-source/regex",
            "plugins/version-scheme/standard",
            "how-to/publish/auth",
            "intro",
        ),
    ),
    # ``adapters train-docs`` sets (benchmarks/data/training/), written 2026-12-06: every page
    "uv": DocsCorpus("astral-sh/uv", "26a9dd4b2125bc271b47855e1fa0c49af3365db5"),
    "httpx": DocsCorpus("encode/httpx", "ae1b9f66238f75ced3ced5e4485408435de10768"),
    "mkdocs": DocsCorpus("mkdocs/mkdocs", "2862536793b3c67d9d83c33e0dd6d50a791928f8"),
    "ruff": DocsCorpus("astral-sh/ruff", "fca5c7cf2cd2f8338f18b9485f936b8e9f07bd0b"),
    # more training sets, written 2026-12-07: the user guide, usage and API pages
    "rye": DocsCorpus(
        "astral-sh/rye",
        "e213938342cd08553a7672a417c4fa821c4d7172",
        tuple(
            f"guide/{p}"
            for p in (
                "basics",
                "config",
                "deps",
                "docker",
                "faq",
                "installation",
                "publish",
                "pyproject",
                "shims",
                "sources",
                "sync",
                "tools",
                "virtual",
                "workspaces",
                "toolchains/index",
                "toolchains/cpython",
                "commands/add",
                "commands/build",
                "commands/init",
                "commands/lock",
                "commands/publish",
                "commands/run",
                "commands/sync",
                "commands/test",
                "commands/pin",
                "commands/version",
            )
        ),
    ),
    "black": DocsCorpus(
        "psf/black",
        "8947c48ef2077c3a301b03c1e814dc2e3f78436e",
        (
            "faq",
            "getting_started",
            "guides/introducing_black_to_your_project",
            "guides/using_black_with_jupyter_notebooks",
            "guides/using_black_with_other_tools",
            "integrations/editors",
            "integrations/github_actions",
            "integrations/source_version_control",
            "the_black_code_style/current_style",
            "the_black_code_style/future_style",
            "usage_and_configuration/black_as_a_server",
            "usage_and_configuration/black_docker_image",
            "usage_and_configuration/file_collection_and_discovery",
            "usage_and_configuration/the_basics",
        ),
    ),
    "starlette": DocsCorpus(
        "encode/starlette",
        "cb8f84f5284dc301ca7a31eb732b9e140769dd48",
        (
            "applications",
            "authentication",
            "background",
            "config",
            "database",
            "endpoints",
            "exceptions",
            "graphql",
            "index",
            "lifespan",
            "middleware",
            "requests",
            "responses",
            "routing",
            "schemas",
            "server-push",
            "staticfiles",
            "templates",
            "testclient",
            "threadpool",
            "websockets",
        ),
    ),
}


def _git(clone: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True).stdout


def corpus_pages(corpus: DocsCorpus, clone: Path) -> tuple[str, ...]:
    """The corpus's pages; for an open list, every ``docs/**.md`` at the commit."""
    if corpus.pages:
        return corpus.pages
    listed = _git(clone, "ls-tree", "-r", "--name-only", corpus.commit, "docs").decode()
    return tuple(p[len("docs/") : -len(".md")] for p in listed.splitlines() if p.endswith(".md"))


def write_corpus(corpus: DocsCorpus, clone: Path, out: Path) -> int:
    """Copy ``corpus``'s pages at its commit from the git repository ``clone`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pages = corpus_pages(corpus, clone)
    for page in pages:
        text = _git(clone, "show", f"{corpus.commit}:docs/{page}.md")
        (out / f"{page.replace('/', '_')}.md").write_bytes(text)
    return len(pages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=sorted(CORPORA))
    ap.add_argument("clone", type=Path, help="a git clone of the project holding the commit")
    ap.add_argument("out", type=Path, help="folder to write the pages into")
    args = ap.parse_args()
    corpus = CORPORA[args.name]
    try:
        n = write_corpus(corpus, args.clone, args.out)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"git could not read {corpus.repo} at {corpus.commit} from {args.clone}: "
            f"{exc.stderr.decode().strip()}; clone https://github.com/{corpus.repo} there"
        ) from None
    print(f"{n} pages of {corpus.repo} at {corpus.commit[:8]} written to {args.out}")


if __name__ == "__main__":
    main()
