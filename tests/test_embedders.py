"""Both packaged embedders and the reranker load offline and behave."""

from __future__ import annotations

import numpy as np
import pytest

from ragcore import plugins
from ragcore.errors import PluginError

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["bge-small-en-v1.5", "all-MiniLM-L6-v2"])
def test_embedder_vectors(name: str) -> None:
    e = plugins.embedder(name)
    docs = e.embed_documents(["The gateway listens on port 9000.", "Bananas are yellow.", "x"])
    assert docs.shape == (3, e.dim) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = e.embed_query("which port does the gateway use")
    assert float(docs[0] @ q) > float(docs[1] @ q)
    assert e.count_tokens("hello world") and e.embed_documents([]).shape[0] == 0


def test_reranker_prefers_the_answer() -> None:
    r = plugins.reranker("ms-marco-MiniLM-L-12-v2")
    s = r.score("how do I reset my password", ["Click Forgot password to reset it.", "Port 9000."])
    assert s[0] > s[1]
    long = "word " * 600
    assert r.score("q", [long], max_tokens=128).shape == (1,)


def test_unknown_plugin_is_a_clear_error() -> None:
    with pytest.raises(PluginError, match=r"no ragcore\.embedders plugin named 'nope'"):
        plugins.embedder("nope")
