"""ragcore through its LlamaIndex and LangChain retrievers, against ``Index.search`` (same ids,
same order; overhead per query), and against what a LlamaIndex user gets by default: a
``VectorStoreIndex`` (in-memory store, default splitter) over the same packaged bge-small
embeddings. Run by hand; prints tables.

    python benchmarks/integrations.py --index IDX --docs DOCS --scifact ../shared/datasets/scifact

``DOCS``: the folder the index was built from, one ``<corpus-id>.txt`` per SciFact abstract;
queries are the train queries whose relevant documents are all in it.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragcore.evals.metrics import evaluate
from rich.console import Console
from rich.table import Table

from ragcore import Index
from ragcore.progress import quiet_libraries

out = Console()


def doc_id(source: str) -> str:
    return Path(source.removeprefix("file://")).stem


def ranking(sources: Sequence[str]) -> list[str]:
    """Documents in the order of their best chunk."""
    return list(dict.fromkeys(doc_id(s) for s in sources))


def timed(fn: Callable[[str], Any], queries: dict[str, str]) -> tuple[dict[str, Any], float]:
    results, times = {}, []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        results[qid] = fn(text)
        times.append(time.perf_counter() - t0)
    return results, 1000 * statistics.median(times)


def bge_embedding(index: Index) -> Any:
    """ragcore's packaged bge-small as a LlamaIndex embedding model."""
    from llama_index.core.embeddings import BaseEmbedding

    embedder = index.embedder

    class PackagedBge(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return PackagedBge(model_name="bge-small-en-v1.5 (ragcore's ONNX)", embed_batch_size=32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--docs", type=Path, required=True)
    ap.add_argument("--scifact", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    present = {p.stem for p in args.docs.glob("*.txt")}
    qrels: dict[str, dict[str, float]] = {}
    with open(args.scifact / "qrels" / "train.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = float(row["score"])
    qrels = {q: r for q, r in qrels.items() if set(r) <= present}
    rows = [json.loads(x) for x in (args.scifact / "queries.jsonl").read_text().splitlines()]
    queries = {r["_id"]: r["text"] for r in rows if r["_id"] in qrels}
    queries = dict(list(queries.items())[: args.queries])
    qrels = {q: qrels[q] for q in queries}

    from ragcore.integrations.langchain import RagcoreRetriever as LangChainRetriever
    from ragcore.integrations.llama_index import RagcoreRetriever as LlamaRetriever

    with Index.open(args.index) as index:
        index.search("warm up", k=10)
        direct, t_direct = timed(lambda q: index.search(q, k=10).hits, queries)
        llama = LlamaRetriever(index, k=10)
        via_llama, t_llama = timed(llama.retrieve, queries)
        chain = LangChainRetriever(index=index, k=10)
        via_lc, t_lc = timed(chain.invoke, queries)
        same_llama = sum(
            [n.node.node_id for n in via_llama[q]] == [h.chunk.id for h in direct[q]]
            for q in queries
        )
        same_lc = sum([d.id for d in via_lc[q]] == [h.chunk.id for h in direct[q]] for q in queries)
        table = Table(title=f"through the integrations, {len(queries)} SciFact train queries, k=10")
        for col in ("path", "same ids, same order", "p50 ms", "overhead p50 ms"):
            table.add_column(col, justify="right")
        table.add_row("Index.search (hybrid)", "-", f"{t_direct:.2f}", "-")
        table.add_row("LlamaIndex RagcoreRetriever", f"{same_llama}/{len(queries)}",
                      f"{t_llama:.2f}", f"{t_llama - t_direct:+.2f}")  # fmt: skip
        table.add_row("LangChain RagcoreRetriever", f"{same_lc}/{len(queries)}",
                      f"{t_lc:.2f}", f"{t_lc - t_direct:+.2f}")  # fmt: skip
        out.print(table)
        dense, t_dense = timed(lambda q: index.search(q, k=100, mode="dense").hits, queries)
        hybrid, t_hybrid = timed(lambda q: index.search(q, k=100).hits, queries)
        runs = {
            "ragcore hybrid": ({q: ranking([h.chunk.source for h in hybrid[q]]) for q in queries},
                               t_hybrid),
            "ragcore dense": ({q: ranking([h.chunk.source for h in dense[q]]) for q in queries},
                              t_dense),
        }  # fmt: skip
        runs["LlamaIndex VectorStoreIndex"] = llama_default(index, args.docs, queries)
    table = Table(title="what a LlamaIndex user gets by default, same packaged bge-small")
    for col in ("system", "nDCG@10", "p50 query ms"):
        table.add_column(col, justify="right")
    for name, (run, p50) in runs.items():
        scores = evaluate(run, qrels, ["ndcg@10"])["ndcg@10"]
        table.add_row(name, f"{statistics.fmean(scores.values()):.4f}", f"{p50:.1f}")
    out.print(table)


def llama_default(index: Index, docs: Path, queries: dict[str, str]) -> tuple[dict, float]:
    from llama_index.core import Document, Settings, VectorStoreIndex

    Settings.llm = None
    Settings.embed_model = bge_embedding(index)
    documents = [Document(text=p.read_text(), metadata={"source": str(p)})
                 for p in sorted(docs.glob("*.txt"))]  # fmt: skip
    t0 = time.perf_counter()
    vector_index = VectorStoreIndex.from_documents(documents)  # default splitter and store
    out.print(f"LlamaIndex VectorStoreIndex built in {time.perf_counter() - t0:.0f} s "
              f"({len(vector_index.docstore.docs)} nodes)")  # fmt: skip
    retriever = vector_index.as_retriever(similarity_top_k=100)
    found, p50 = timed(retriever.retrieve, queries)
    return {q: ranking([n.node.metadata["source"] for n in found[q]]) for q in queries}, p50


if __name__ == "__main__":
    with quiet_libraries():
        main()
