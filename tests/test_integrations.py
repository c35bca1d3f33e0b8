"""LlamaIndex and LangChain retrievers over a real ragcore index (real embedder), inside the
libraries' own query engines and chains; access groups hold through them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragcore import Index

pytestmark = pytest.mark.slow

QUERY = "how do I reset my password"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    from conftest import index_public_and_staff

    index = Index.open(index_public_and_staff(tmp_path_factory.mktemp("integrations")))
    yield index
    index.close()


def test_llama_index_retriever_matches_index_search(index: Index) -> None:
    from ragcore.integrations.llama_index import RagcoreRetriever

    nodes = RagcoreRetriever(index, k=5, mode="hybrid").retrieve(QUERY)
    hits = index.search(QUERY, k=5, mode="hybrid").hits
    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in hits]
    first, hit = nodes[0], hits[0]
    assert first.score == pytest.approx(hit.score) and first.node.get_content() == hit.chunk.text
    meta = first.node.metadata
    assert meta["source"] == hit.chunk.source and meta["start_char"] == hit.chunk.start
    assert (first.node.start_char_idx, first.node.end_char_idx) == (hit.chunk.start, hit.chunk.end)
    assert "score_dense" in meta and "score_bm25" in meta


def test_llama_index_query_engines_run_unchanged_and_groups_hold(index: Index) -> None:
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import CitationQueryEngine, RetrieverQueryEngine

    from ragcore.integrations.llama_index import RagcoreRetriever

    public = RagcoreRetriever(index, k=4, groups=[])
    response = RetrieverQueryEngine.from_args(public, llm=MockLLM()).query(QUERY)
    sources = {n.node.metadata["source"] for n in response.source_nodes}
    assert response.source_nodes and any(s.endswith("authentication.md") for s in sources)
    assert not any(s.endswith("vault.md") for s in sources)  # not shared with the public
    staff = RagcoreRetriever(index, k=4, groups=["staff"])
    cited = CitationQueryEngine(retriever=staff, llm=MockLLM()).query(QUERY)
    texts = " ".join(n.node.get_content() for n in cited.source_nodes)
    assert "Ingrid" in texts and "Source 1:" in texts  # CitationQueryEngine numbered them


def test_langchain_retriever_in_an_lcel_chain(index: Index) -> None:
    from langchain_core.runnables import RunnableLambda

    from ragcore.integrations.langchain import RagcoreRetriever

    retriever = RagcoreRetriever(index=index, k=3, groups=[])
    docs = retriever.invoke(QUERY)
    hits = index.search(QUERY, k=3, groups=()).hits
    assert [d.id for d in docs] == [h.chunk.id for h in hits]
    assert docs[0].metadata["source"] == hits[0].chunk.source
    chain = retriever | RunnableLambda(lambda ds: [d.metadata["source"] for d in ds])
    sources = chain.invoke(QUERY)
    assert len(sources) == 3 and not any(s.endswith("vault.md") for s in sources)
    staff = RagcoreRetriever(index=index, k=4, groups=["staff"]).invoke(QUERY)
    assert any(d.metadata["source"].endswith("vault.md") for d in staff)


def test_from_index_dir_opens_the_folder(tmp_path: Path, docs_dir: Path) -> None:
    from ragcore.integrations.langchain import RagcoreRetriever as LangChainRetriever
    from ragcore.integrations.llama_index import RagcoreRetriever as LlamaRetriever

    with Index.open(tmp_path / "idx", create=True) as own:
        own.ingest([docs_dir], quiet=True)
    retriever = LlamaRetriever.from_index_dir(tmp_path / "idx", k=2, mode="bm25")
    assert len(retriever.retrieve(QUERY)) == 2
    retriever._index.close()
    lc = LangChainRetriever.from_index_dir(tmp_path / "idx", k=2)
    assert len(lc.invoke(QUERY)) == 2
    lc.index.close()


class Recording:
    """Records the Prompt each call gets, and answers with the real generator behind it."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.prompts = inner, inner.name, []

    def answer(self, prompt, max_new_tokens=64, on_token=None):
        self.prompts.append(prompt)
        return self.inner.answer(prompt, max_new_tokens, on_token)


def test_the_prompt_is_read_back_from_llama_index_templates() -> None:
    """Against LlamaIndex's own templates and node formatting, not copies of them."""
    from llama_index.core.prompts.default_prompts import DEFAULT_TEXT_QA_PROMPT
    from llama_index.core.query_engine.citation_query_engine import CITATION_QA_TEMPLATE
    from llama_index.core.schema import MetadataMode, TextNode

    from ragcore.integrations.llama_index_llm import prompt_of
    from ragcore.types import Passage, Prompt

    nodes = [
        TextNode(text="The admin API uses port 9001.\n\nIt binds to 127.0.0.1.",
                 metadata={"source": "file:///g.md", "heading_path": "Gateway > Ports"}),
        TextNode(text="Reset links last 30 minutes.", metadata={"source": "file:///a.md"}),
    ]  # fmt: skip
    context = "\n\n".join(n.get_content(metadata_mode=MetadataMode.LLM) for n in nodes)
    text = DEFAULT_TEXT_QA_PROMPT.format(context_str=context, query_str="Which port?")
    assert prompt_of(text) == Prompt(
        "Which port?",
        (
            Passage("The admin API uses port 9001.\n\nIt binds to 127.0.0.1.", "Gateway > Ports"),
            Passage("Reset links last 30 minutes."),
        ),
    )
    sources = "\n\n".join(f"Source {i}:\n{n.get_content()}" for i, n in enumerate(nodes, 1))
    cited = prompt_of(CITATION_QA_TEMPLATE.format(context_str=sources, query_str="How long?"))
    assert cited.question == "How long?"
    assert [p.text for p in cited.passages] == [n.get_content() for n in nodes]
    assert prompt_of("Tell me a joke.") == Prompt("Tell me a joke.")


def test_ragcore_llm_answers_inside_llama_index_query_engines(index: Index) -> None:
    from llama_index.core.query_engine import RetrieverQueryEngine

    from ragcore.integrations.llama_index import RagcoreRetriever
    from ragcore.integrations.llama_index_llm import RagcoreLLM
    from ragcore.plugins import DEFAULT_GENERATOR, load_generator

    reader = Recording(load_generator(DEFAULT_GENERATOR, None))
    llm = RagcoreLLM(reader)
    assert llm.metadata.model_name == reader.name
    retriever = RagcoreRetriever(index, k=3, mode="hybrid+rerank", groups=[])
    question = "Which port does the gateway admin API listen on?"
    response = RetrieverQueryEngine.from_args(retriever, llm=llm).query(question)
    [prompt] = reader.prompts
    assert prompt.question == question
    shown = [n.node.get_content() for n in response.source_nodes]
    assert [p.text for p in prompt.passages] == shown  # every node, as its own passage
    reply = reader.inner.answer(prompt, 48)  # greedy: the same reply again
    assert response.response == reply.text
    if not reply.abstained:
        assert reply.cited and reply.answer in shown[reply.cited[0] - 1]
    streamed = "".join(r.delta for r in llm.stream_complete("Tell me a joke."))
    assert streamed == "I don't know."  # no passages: the reader abstains


def test_llama_index_documents_sync_into_an_index(tmp_path: Path) -> None:
    from llama_index.core import Document, SimpleDirectoryReader

    from ragcore.errors import ConfigError
    from ragcore.integrations.llama_index_documents import ingest_documents

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "gateway.md").write_text("# Gateway\n\nThe gateway admin API listens on port 9001.")
    (folder / "billing.md").write_text("# Billing\n\nInvoices are sent on the first of the month.")
    docs = SimpleDirectoryReader(str(folder), filename_as_id=True).load_data()
    vault = Document(
        text="The vault combination is 7741.",
        doc_id="vault",
        metadata={"team": "ops", "access": ["staff"]},  # its own groups win
    )
    scope = "llamaindex://handbook"
    with Index.open(tmp_path / "idx", create=True) as index:
        report = ingest_documents(index, [*docs, vault], scope=scope, groups=[])  # public
        assert (report.added, report.changed, report.deleted) == (3, 0, 0)
        hit = index.search("which port does the admin API use", k=1, groups=[]).hits[0]
        assert "9001" in hit.chunk.text and hit.chunk.source.startswith(scope + "/")
        assert hit.chunk.metadata["file_name"] == "gateway.md"  # LlamaIndex's metadata kept
        public = index.search("vault combination", k=3, groups=[]).hits
        assert len(public) == 2 and all("vault" not in h.chunk.text for h in public)
        found = index.search("vault combination", k=1, groups=["staff"], filters={"team": "ops"})
        assert found.hits[0].chunk.text == vault.text
        # Again: unchanged documents are skipped; an edited one is re-indexed, a dropped one goes.
        edited = Document(text="The vault combination is 9900.", doc_id="vault")
        report = ingest_documents(index, [docs[0], edited], scope=scope)
        assert (report.unchanged, report.changed, report.deleted) == (1, 1, 1)
        texts = [c.text for c in index.chunks()]
        assert len(texts) == 2 and any("9900" in t for t in texts)
        with pytest.raises(ConfigError, match="share the id"):
            ingest_documents(index, [edited, edited], scope=scope)
        with pytest.raises(ConfigError, match="does not name a source"):
            ingest_documents(index, [edited], scope="handbook")
        assert len(list(index.chunks())) == 2  # a refused call changed nothing
