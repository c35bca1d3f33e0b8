"""Token ids for the reader: a chat prompt through the tokenizer's template, and left-padded
batches (training, the abstention head and batched reading share them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def chat_prompt_ids(tokenizer: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of ``messages`` through the tokenizer's chat template, ready for the reply
    (transformers returns a list or an encoding depending on its version)."""
    ids = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True)
    return ids if isinstance(ids, list) else list(ids["input_ids"])


def left_padded(sequences: Sequence[Sequence[int]], pad: int) -> tuple[Any, Any, Any]:
    """(ids, attention mask, position ids) of a left-padded batch: every sequence ends at the
    last position, and position ids skip the padding, so each sequence sees the positions it
    would see alone."""
    import torch

    width = max(map(len, sequences))
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq) :] = torch.tensor(list(seq), dtype=torch.long)
        mask[row, width - len(seq) :] = 1
    return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)


def cache_keyword(model: Any) -> str:
    """The keyword a model's forward takes its KV cache by: ``cache`` in transformers 5.x
    (where ``past_key_values`` still works but warns), ``past_key_values`` before."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
