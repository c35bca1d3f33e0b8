"""Rebuild the docs corpora that ``benchmarks/data/*-docs-questions.jsonl`` were written over.

The question sets are committed; the pages are not (they are other projects' docs). Each corpus
is a fixed list of markdown pages at a fixed commit, copied verbatim from a clone of the
project (any clone that has the commit; a plain ``git clone`` or a mirror):

    git clone https://github.com/pypa/hatch /tmp/hatch
    python benchmarks/docs_corpora.py hatch /tmp/hatch hatch-docs
    ragcore ingest hatch-docs --index hatch-docs-index --quiet
    ragcore eval diagnose benchmarks/data/hatch-docs-questions.jsonl --index hatch-docs-index

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
    pages: tuple[str, ...]  # paths under docs/, without .md


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
}


def write_corpus(corpus: DocsCorpus, clone: Path, out: Path) -> int:
    """Copy ``corpus``'s pages at its commit from the git repository ``clone`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for page in corpus.pages:
        text = subprocess.run(
            ["git", "-C", str(clone), "show", f"{corpus.commit}:docs/{page}.md"],
            check=True,
            capture_output=True,
        ).stdout
        (out / f"{page.replace('/', '_')}.md").write_bytes(text)
    return len(corpus.pages)


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
