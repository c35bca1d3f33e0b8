"""Search modes on the bundled demo docs with the real packaged models."""

from __future__ import annotations

import pytest

from ragcore import Index
from ragcore.errors import ConfigError

pytestmark = pytest.mark.slow

QUESTIONS = {
    "what ports does the gateway use": "gateway.md",
    "how do I rotate API keys": "authentication.md",
    "what is the REST API rate limit": "api-reference.html",
    "how do I report a security vulnerability": "security-policy.txt",
}


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid", "hybrid+rerank"])
def test_each_mode_finds_the_answering_document(demo_index: Index, mode: str) -> None:
    for question, path in QUESTIONS.items():
        hits = demo_index.search(question, k=3, mode=mode).hits
        assert path in [h.chunk.metadata["path"] for h in hits], (mode, question)


def test_hits_carry_provenance_and_per_retriever_scores(demo_index: Index) -> None:
    result = demo_index.search("what ports does the gateway use", k=5)
    assert result.mode == "hybrid"
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    top = result.hits[0]
    assert {"fused", "dense", "bm25"} <= set(top.scores)
    assert top.chunk.source.startswith("file://") and top.chunk.heading_path
    assert top.chunk.end > top.chunk.start
    assert {"embed_query", "engine", "total"} <= set(result.timings_ms)


def test_rerank_scores_and_fusion_modes(demo_index: Index) -> None:
    q = "how much does the Pro plan cost per user"
    fused = demo_index.search(q, k=5, mode="hybrid+rerank", rerank_fusion="rrf")
    replaced = demo_index.search(q, k=5, mode="hybrid+rerank", rerank_fusion="replace")
    assert all("rerank" in h.scores for h in replaced.hits)
    # replace: the order is exactly the cross-encoder's
    logits = [h.scores["rerank"] for h in replaced.hits]
    assert logits == sorted(logits, reverse=True)
    assert "rerank" in fused.timings_ms and fused.mode == "hybrid+rerank"


def test_filters_restrict_results(demo_index: Index) -> None:
    hits = demo_index.search("password", k=20, filters={"file_type": "text"}).hits
    assert hits and {h.chunk.metadata["file_type"] for h in hits} == {"text"}
    hits = demo_index.search("password", k=20, filters={"path": ["faq.txt", "gateway.md"]}).hits
    assert hits and {h.chunk.metadata["path"] for h in hits} <= {"faq.txt", "gateway.md"}
    assert demo_index.search("password", k=5, filters={"path": "nothing.md"}).hits == ()


def test_exclusions_and_date_ranges_on_a_real_index(demo_index: Index) -> None:
    from ragcore.cli.options import parse_filters

    everything = demo_index.search("password", k=50).hits
    paths = {h.chunk.metadata["path"] for h in everything}
    assert "faq.txt" in paths and len(paths) > 2
    kept = demo_index.search("password", k=50, filters={"path": {"not": "faq.txt"}}).hits
    assert {h.chunk.metadata["path"] for h in kept} == paths - {"faq.txt"}
    newest = max(h.chunk.metadata["modified"] for h in everything)
    since = demo_index.search("password", k=50, filters={"modified": {"lte": newest}}).hits
    assert len(since) == len(everything)
    later = parse_filters([f"modified>{newest}", "path!=faq.txt"])
    assert demo_index.search("password", k=50, filters=later).hits == ()


def test_a_filter_key_no_chunk_has_is_named(demo_index: Index) -> None:
    with pytest.raises(ConfigError, match="no indexed chunk has the filter key 'colour'") as e:
        demo_index.search("password", k=5, filters={"colour": "red"})
    assert "file_type" in e.value.hint and "path" in e.value.hint
    hits = demo_index.search("password", k=5, filters={"metadata.file_type": "text"}).hits
    assert hits  # the explicit spelling of a metadata key is known too


def test_fusion_options(demo_index: Index) -> None:
    for fusion in ("rrf", "dbsf"):
        hits = demo_index.search("gateway ports", k=3, fusion=fusion, rrf_k=5).hits
        assert hits[0].chunk.metadata["path"] in ("gateway.md", "configuration.md")


def test_per_query_weights_shift_the_fusion(demo_index: Index) -> None:
    q = "lumenctl backup schedule retention"
    dense_top = demo_index.search(q, k=1, mode="dense").hits[0].chunk.id
    bm25_top = demo_index.search(q, k=1, mode="bm25").hits[0].chunk.id
    # The engine's weighted RRF scores rank r (from 1) as 1 / (r / w + k - 1): at k = 1 that is
    # w / r, so a weight of 20 puts its retriever's top first whatever the other ranks. (At the
    # default k = 2 each list adds at most 1, so a weight alone cannot guarantee it.)
    heavy = {"fusion": "rrf", "rrf_k": 1}
    heavy_dense = demo_index.search(q, k=1, dense_weight=20.0, **heavy).hits[0].chunk.id
    heavy_bm25 = demo_index.search(q, k=1, sparse_weight=20.0, **heavy).hits[0].chunk.id
    assert dense_top != bm25_top  # the query splits the retrievers, so the weights decide
    assert heavy_dense == dense_top and heavy_bm25 == bm25_top
