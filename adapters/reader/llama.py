"""The packaged reader's forward pass in plain torch: a Llama decoder (SmolLM2's architecture)
and its chat tokenizer over the ``tokenizers`` library, so that ``ragcore ask`` reads without
importing transformers.

Importing transformers' Llama model costs more than the answer itself on 2 cores (the figures
are in docs/reader.md). The packaged base is one fixed architecture, so the forward pass
below replaces it at run time; training, merging and any other model folder keep using
transformers. ``load_model`` declines (returns None) a folder this module does not cover, and
the caller falls back to transformers. The tests hold it to transformers' own
``LlamaForCausalLM``: logits and hidden states within 1e-4, the same chat prompt ids, the same
decoded text, the same readings.

Architecture (Touvron et al., "LLaMA", 2023): pre-norm decoder layers with RMSNorm (Zhang &
Sennrich, 2019), rotary position embeddings (Su et al., "RoFormer", 2021), grouped-query
attention (Ainslie et al., "GQA", 2023) and a SwiGLU feed-forward (Shazeer, 2020).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LlamaShape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    rope_theta: float
    eps: float
    tied: bool

    @classmethod
    def read(cls, folder: Path) -> LlamaShape | None:
        """The shape in ``config.json``, or None when it is not a plain Llama this module
        reproduces (other rope scalings, biases, activations)."""
        try:
            c = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError):
            return None
        rope = c.get("rope_parameters") or {"rope_theta": c.get("rope_theta", 10000.0)}
        plain = (
            c.get("model_type") == "llama"
            and c.get("hidden_act", "silu") == "silu"
            and not c.get("attention_bias")
            and not c.get("mlp_bias")
            and rope.get("rope_type", "default") == "default"
            and c.get("rope_scaling") is None
            and c.get("pretraining_tp", 1) == 1
        )
        if not plain:
            return None
        heads = c["num_attention_heads"]
        return cls(
            hidden=c["hidden_size"],
            layers=c["num_hidden_layers"],
            heads=heads,
            kv_heads=c.get("num_key_value_heads", heads),
            head_dim=c.get("head_dim") or c["hidden_size"] // heads,
            intermediate=c["intermediate_size"],
            vocab=c["vocab_size"],
            rope_theta=float(rope["rope_theta"]),
            eps=float(c["rms_norm_eps"]),
            tied=bool(c.get("tie_word_embeddings", False)),
        )


class KVCache:
    """Keys and values per layer, ``[batch, kv_heads, positions, head_dim]``."""

    def __init__(self) -> None:
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def length(self) -> int:
        return self.keys[0].shape[2] if self.keys else 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[Any, Any]:
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]

    def crop(self, length: int) -> None:
        """Keep the first ``length`` positions (negative: drop that many from the end), as
        transformers' ``DynamicCache.crop``."""
        keep = self.length() + length if length < 0 else length
        self.keys = [k[:, :, :keep] for k in self.keys]
        self.values = [v[:, :, :keep] for v in self.values]


class Output(NamedTuple):
    logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    turned = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + turned * sin


class Llama(torch.nn.Module):
    """``LlamaForCausalLM``'s inference forward: ``model(input_ids=..., cache=KVCache())``
    gives ``.logits`` and, with ``output_hidden_states``, transformers' ``hidden_states``
    (the embeddings, each layer's output, the last one after the final norm)."""

    def __init__(self, shape: LlamaShape, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.shape = shape
        self.weights = torch.nn.ParameterDict(
            {
                k.replace(".", "/"): torch.nn.Parameter(v, requires_grad=False)
                for k, v in weights.items()
            }
        )
        d, device = shape.head_dim, weights["model.embed_tokens.weight"].device
        steps = torch.arange(0, d, 2, device=device).float() / d
        self.inv_freq = 1.0 / (shape.rope_theta**steps)
        names = (
            "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
            "mlp.down_proj",
        )  # fmt: skip
        self._layers = [
            tuple(self._w(f"model.layers.{i}.{n}.weight") for n in names)
            for i in range(shape.layers)
        ]

    def _w(self, name: str) -> torch.Tensor:
        return self.weights[name.replace(".", "/")]

    def new_cache(self) -> KVCache:
        return KVCache()

    def forward(
        self,
        input_ids: torch.Tensor,
        cache: KVCache | None = None,
        use_cache: bool = True,
        output_hidden_states: bool = False,
    ) -> Output:
        s = self.shape
        batch, length = input_ids.shape
        past = cache.length() if cache is not None and use_cache else 0
        positions = torch.arange(past, past + length, device=input_ids.device).float()
        freqs = positions[:, None] * self.inv_freq[None]
        angles = torch.cat([freqs, freqs], dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = None
        if length > 1 and past:  # new queries see the cache and the new keys up to themselves
            mask = torch.ones(length, past + length, dtype=torch.bool, device=input_ids.device)
            mask = mask.tril(diagonal=past)
        x = F.embedding(input_ids, self._w("model.embed_tokens.weight"))
        hidden = [x] if output_hidden_states else []
        group = s.heads // s.kv_heads
        for i, (ln1, wq, wk, wv, wo, ln2, wg, wu, wd) in enumerate(self._layers):
            h = _rms_norm(x, ln1, s.eps)
            q, k, v = F.linear(h, wq), F.linear(h, wk), F.linear(h, wv)
            q = _rotate(q.view(batch, length, s.heads, s.head_dim).transpose(1, 2), cos, sin)
            k = _rotate(k.view(batch, length, s.kv_heads, s.head_dim).transpose(1, 2), cos, sin)
            v = v.view(batch, length, s.kv_heads, s.head_dim).transpose(1, 2)
            if cache is not None and use_cache:
                k, v = cache.update(i, k, v)
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
            a = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=mask is None and length > 1
            )
            a = a.transpose(1, 2).reshape(batch, length, s.heads * s.head_dim)
            x = x + F.linear(a, wo)
            h = _rms_norm(x, ln2, s.eps)
            x = x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)
            if output_hidden_states and i < s.layers - 1:
                hidden.append(x)
        x = _rms_norm(x, self._w("model.norm.weight"), s.eps)
        if output_hidden_states:
            hidden.append(x)
        head = "model.embed_tokens.weight" if s.tied else "lm_head.weight"
        return Output(F.linear(x, self._w(head)), tuple(hidden) if output_hidden_states else None)


class ChatTokenizer:
    """The model folder's ``tokenizer.json`` and chat template, with the part of the
    transformers tokenizer API the reader uses."""

    def __init__(self, folder: Path) -> None:
        import jinja2
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = json.loads((folder / "tokenizer_config.json").read_text())
        template_file = folder / "chat_template.jinja"
        template = template_file.read_text() if template_file.is_file() else config["chat_template"]
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers'
        self._template = env.from_string(template)
        self._names = {k: config.get(k) for k in ("bos_token", "eos_token", "pad_token")}
        self.eos_token_id = self._tok.token_to_id(config["eos_token"])
        pad = config.get("pad_token")
        self.pad_token_id = self._tok.token_to_id(pad) if pad else None
        named = [config.get(k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")]
        extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
        self.all_special_ids = sorted(
            {self._tok.token_to_id(t) for t in [*named, *extra] if t} - {None}
        )

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self._tok.encode(text, add_special_tokens=add_special_tokens).ids}

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return self._tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def apply_chat_template(
        self, messages: list[dict[str, str]], add_generation_prompt: bool = False
    ) -> list[int]:
        text = self._template.render(
            messages=messages, add_generation_prompt=add_generation_prompt, **self._names
        )
        return self._tok.encode(text, add_special_tokens=False).ids


def load_model(folder: Path, device: str = "cpu") -> tuple[Llama, ChatTokenizer] | None:
    """The model and tokenizer of a plain-Llama folder (float32 safetensors), or None."""
    shape = LlamaShape.read(folder)
    weights_file = folder / "model.safetensors"
    if shape is None or not weights_file.is_file() or not (folder / "tokenizer.json").is_file():
        return None
    from safetensors.torch import load_file

    weights = {k: v.float() for k, v in load_file(weights_file, device=device).items()}
    if "model.embed_tokens.weight" not in weights:
        return None
    return Llama(shape, weights).eval(), ChatTokenizer(folder)
