"""BEIR-layout datasets (Thakur et al., NeurIPS 2021 Datasets track): ``corpus.jsonl``,
``queries.jsonl``, ``qrels/SPLIT.tsv``. The corpus is exposed as a ragcore ``Connector`` so it
is indexed by the same sync engine as any other source."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ragcore.errors import SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef


@dataclass(frozen=True)
class BeirDataset:
    root: Path
    name: str

    @classmethod
    def open(cls, root: str | Path, need_corpus: bool = True) -> BeirDataset:
        path = Path(root)
        if need_corpus and not (path / "corpus.jsonl").is_file():
            raise SourceError(
                f"{path} has no corpus.jsonl",
                "point to a folder in BEIR layout, or pass --index to score an existing index",
            )
        if not (path / "queries.jsonl").is_file():
            raise SourceError(f"{path} has no queries.jsonl", "point to a folder in BEIR layout")
        return cls(path, path.resolve().name)

    @property
    def synthetic(self) -> bool:
        """Written by ``ragcore eval synthesize``: scores are a proxy."""
        return (self.root / "synthetic.json").is_file()

    def queries(self) -> dict[str, str]:
        with open(self.root / "queries.jsonl") as fh:
            return {q["_id"]: q["text"] for q in map(json.loads, fh)}

    def qrels(self, split: str) -> dict[str, dict[str, float]]:
        path = self.root / "qrels" / f"{split}.tsv"
        if not path.is_file():
            raise SourceError(f"no qrels for split {split!r} at {path}", "check --split")
        out: dict[str, dict[str, float]] = {}
        with open(path) as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                out.setdefault(row["query-id"], {})[row["corpus-id"]] = float(row["score"])
        return out

    def connector(self) -> BeirCorpus:
        return BeirCorpus(self)


class BeirCorpus:
    """Connector over ``corpus.jsonl``: text is ``title`` + blank line + ``text``."""

    def __init__(self, dataset: BeirDataset) -> None:
        self.dataset = dataset
        self.scope = f"beir://{dataset.name}"
        self._docs: dict[str, Document] = {}

    def list(self) -> Iterator[DocumentRef]:
        with open(self.dataset.root / "corpus.jsonl") as fh:
            for line in fh:
                row = json.loads(line)
                title, body = row.get("title", ""), row.get("text", "")
                text = f"{title}\n\n{body}" if title else body
                source = f"{self.scope}/{row['_id']}"
                doc = Document(
                    id=document_id(source),
                    source=source,
                    text=text,
                    content_hash=content_hash(text),
                    metadata={"beir_id": row["_id"], "title": title},
                )
                self._docs[doc.id] = doc
                yield DocumentRef(doc.id, source, doc.content_hash, doc.metadata)

    def load(self, ref: DocumentRef) -> Document:
        return self._docs[ref.id]
