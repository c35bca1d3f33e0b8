from __future__ import annotations

import json
from pathlib import Path

import pytest
from ragcore.evals.data.beir import BeirDataset

from ragcore.errors import SourceError


def _dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    rows = [
        {"_id": "d1", "title": "Vitamin D", "text": "Bones."},
        {"_id": "d2", "text": "Only text."},
    ]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "bone health"}) + "\n")
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\n")
    return root


def test_beir_layout(tmp_path: Path) -> None:
    ds = BeirDataset.open(_dataset(tmp_path / "mini"))
    assert ds.name == "mini"
    assert ds.queries() == {"q1": "bone health"}
    assert ds.qrels("train") == {"q1": {"d1": 1.0, "d2": 2.0}}
    with pytest.raises(SourceError, match="split 'test'"):
        ds.qrels("test")
    conn = ds.connector()
    refs = list(conn.list())
    assert [r.source for r in refs] == ["beir://mini/d1", "beir://mini/d2"]
    doc = conn.load(refs[0])
    assert doc.text == "Vitamin D\n\nBones." and doc.metadata["beir_id"] == "d1"
    assert conn.load(refs[1]).text == "Only text."
    assert refs[0].change_token == doc.content_hash


def test_not_a_beir_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no corpus\.jsonl"):
        BeirDataset.open(tmp_path)
