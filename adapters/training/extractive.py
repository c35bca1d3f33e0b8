"""Training recipe of the extractive reader (``adapters.reader.extractive``).

Examples are ``ReaderExample`` values (``adapters.training.raft``): a question, numbered
passages, and the answer with the passage that holds it, or an abstention. Every passage is
a training window of its own: the one holding the answer is labelled with the answer's first
and last token, every other passage and every unanswerable question with the [CLS] "no
answer" position (Devlin et al., "BERT", 2019, section 4.3). Serving-shaped examples
(``serving_examples``: the gold paragraph among its nearest distractors) thus teach the
reader to find the answer in one passage and to prefer "no answer" in the others.

The loss is the mean of the start and end cross-entropies. The top ``layers`` encoder layers
and the span head are trained (AdamW, linear warm-up and decay); the rest stays the packaged
encoder's, and only the trained tensors are saved (fp16). With ``rank`` set, each trained
matrix is saved as the rank-r truncated SVD of its change from the packaged weight (the
Eckart-Young best rank-r approximation; the same factored form as LoRA, Hu et al. 2021), so a
reader of all 12 layers ships in 5.4 MB at rank 32 instead of 42.6 MB.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ragcore.adapters.reader.bert_qa import (
    DELTA_LEFT,
    DELTA_RIGHT,
    BertQA,
    load_bert_qa,
    onnx_weights,
    padded,
)
from ragcore.adapters.reader.extractive import (
    WEIGHTS_FILE,
    EncoderTokenizer,
    ExtractiveConfig,
    encoder_tokenizer,
    windows,
)
from ragcore.adapters.training.raft import ReaderExample

from ragcore.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SpanWindow:
    """One training window: model inputs and the answer's token positions (0, 0: none)."""

    ids: tuple[int, ...]
    types: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class TrainSettings:
    epochs: float = 2.0
    lr: float = 8e-5
    batch_size: int = 16
    layers: int = 12  # top encoder layers trained (12: all)
    warmup: float = 0.1
    seed: int = 0
    minutes: float | None = None  # stop early when the budget is spent
    rank: int | None = 32  # saved as rank-r changes (low_rank_changes); None: full tensors

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.lr <= 0 or self.batch_size < 1:
            raise ConfigError("epochs, lr and batch size must be positive", "e.g. 2, 8e-5, 16")
        if not 0 <= self.layers <= 12:
            raise ConfigError(f"layers={self.layers} is not in 0..12", "train 0 to 12 layers")
        if self.rank is not None and self.rank < 1:
            raise ConfigError(f"rank={self.rank} must be >= 1", "e.g. 32, or None for full")


def label_windows(tokenizer: EncoderTokenizer, example: ReaderExample) -> list[SpanWindow]:
    """The example's windows, the answer's tokens labelled where the window holds it whole."""
    texts = [text for _, text in example.passages]
    span = None
    if example.answer is not None and example.cited is not None:
        at = texts[example.cited - 1].find(example.answer)
        if at >= 0:
            span = (example.cited - 1, at, at + len(example.answer))
    out = []
    for w in windows(tokenizer, example.question, texts):
        start = end = 0
        if span is not None and w.passage == span[0]:
            inside = [k for k, o in enumerate(w.offsets) if o is not None]
            first = w.offsets[inside[0]] if inside else None
            last = w.offsets[inside[-1]] if inside else None
            if first and last and first[0] <= span[1] and last[1] >= span[2]:
                start = next(k for k in inside if w.offsets[k][1] > span[1])  # type: ignore[index]
                end = next(k for k in reversed(inside) if w.offsets[k][0] < span[2])  # type: ignore[index]
        out.append(SpanWindow(w.ids, w.types, start, end))
    return out


def _batches(items: Sequence[SpanWindow], size: int, rng: random.Random) -> list[list[SpanWindow]]:
    """Shuffled batches of windows of similar length (less padding)."""
    order = list(items)
    rng.shuffle(order)
    pool = size * 50
    batches = []
    for at in range(0, len(order), pool):
        chunk = sorted(order[at : at + pool], key=lambda w: len(w.ids))
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def _tensors(batch: Sequence[SpanWindow]):
    import torch

    ids, types, mask = padded(batch)
    starts = torch.tensor([w.start for w in batch])
    ends = torch.tensor([w.end for w in batch])
    return ids, types, mask, starts, ends


def trainable(model: BertQA, layers: int) -> list[str]:
    """Names of the parameters trained: the top ``layers`` encoder layers and the head."""
    total = len(model.bert.encoder.layer)
    keep = [f"bert.encoder.layer.{i}." for i in range(total - layers, total)]
    names = []
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("qa_outputs.") or any(
            name.startswith(k) for k in keep
        )
        if param.requires_grad:
            names.append(name)
    return names


def train_extractive(
    examples: Sequence[ReaderExample],
    out: Path,
    settings: TrainSettings | None = None,
    config: ExtractiveConfig | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, float]:
    """Train the span head (and the top layers) on ``examples``; save the trained tensors and
    the config to ``out``. Returns the run's figures (windows, steps, seconds, last loss)."""
    import torch
    import torch.nn.functional as F
    from safetensors.torch import save_file

    settings, config = settings or TrainSettings(), config or ExtractiveConfig()
    if not examples:
        raise ConfigError("no training examples", "pass SQuAD articles or synthesized questions")
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    tokenizer = encoder_tokenizer(config)
    data = [w for ex in examples for w in label_windows(tokenizer, ex)]
    model = load_bert_qa().train()
    names = trainable(model, settings.layers)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.01)
    steps = math.ceil(len(data) / settings.batch_size * settings.epochs)
    warm = max(1, int(settings.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    t0, step, loss_value = time.perf_counter(), 0, float("nan")
    budget = None if settings.minutes is None else 60 * settings.minutes
    while step < steps and (budget is None or time.perf_counter() - t0 < budget):
        for batch in _batches(data, settings.batch_size, rng):
            if step >= steps or (budget is not None and time.perf_counter() - t0 >= budget):
                break
            ids, types, mask, starts, ends = _tensors(batch)
            start, end = model(ids, types, mask)
            loss = (F.cross_entropy(start, starts) + F.cross_entropy(end, ends)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step, loss_value = step + 1, float(loss.detach())
            if on_step is not None:
                on_step(step, steps, loss_value)
    out.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    tensors = {n: state[n] for n in names}
    if settings.rank is not None:
        tensors = low_rank_changes(tensors, onnx_weights(), settings.rank)
    save_file({n: t.half().contiguous() for n, t in tensors.items()}, str(out / WEIGHTS_FILE))
    config.save(out)
    return {
        "windows": len(data),
        "steps": step,
        "planned_steps": steps,
        "seconds": round(time.perf_counter() - t0, 1),
        "last_loss": round(loss_value, 4),
    }


def low_rank_changes(
    trained: dict[str, torch.Tensor], packaged: dict[str, np.ndarray], rank: int
) -> dict[str, torch.Tensor]:
    """Each trained encoder matrix as the rank-``rank`` truncated SVD of its change from the
    packaged weight, ``left = U_r S_r`` and ``right = V_r^T`` (Eckart-Young); vectors and the
    span head (which has no packaged weight) stay whole. ``merged_weights`` adds them back."""
    import torch

    out: dict[str, torch.Tensor] = {}
    for name, weight in trained.items():
        if weight.ndim != 2 or name not in packaged or min(weight.shape) < rank:
            out[name] = weight
            continue
        change = weight.float() - torch.from_numpy(np.array(packaged[name], dtype=np.float32))
        u, s, vh = torch.linalg.svd(change, full_matrices=False)
        out[name + DELTA_LEFT] = u[:, :rank] * s[:rank]
        out[name + DELTA_RIGHT] = vh[:rank]
    return out
