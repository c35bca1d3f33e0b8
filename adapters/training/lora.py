"""LoRA training of a reader adapter (peft), on GPU when present and on CPU otherwise.

The loss is the cross-entropy of the reply tokens only (the prompt is context). Logits are
computed for the reply positions alone (``logits_to_keep``): the LM head over a 49k vocabulary
at every prompt position would otherwise cost as much as the rest of the step. The result is
peft's ``adapter_config.json`` + ``adapter_model.safetensors`` and a ``training_card.json``
beside them (data, hyper-parameters, metrics, base model fingerprint).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.abstain_head import HEAD_FILE
from ragcore.adapters.reader.base_model import file_sha256
from ragcore.adapters.reader.card import model_fingerprint, write_card
from ragcore.adapters.reader.decoding import READER_CONFIG_FILE
from ragcore.adapters.reader.registry import peft_quietly
from ragcore.adapters.reader.tokens import chat_prompt_ids, left_padded
from ragcore.adapters.reader.verifier import VERIFIER_FILE
from ragcore.adapters.training.raft import ReaderExample, raft_examples
from ragcore.evals.data.squad import Article

from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.prompting import reader_messages, target_reply

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


# what an adapter continued from ``start`` reads with until it is recalibrated
CARRIED = (READER_CONFIG_FILE, HEAD_FILE, VERIFIER_FILE)


class SaveDtype(StrEnum):
    """The dtype adapter weights are saved in."""

    FLOAT16 = "float16"
    FLOAT32 = "float32"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one LoRA run (Hu et al., "LoRA", 2021).

    ``max_examples`` is the small-subset mode: train on the first N shuffled examples (CPU
    steps take about a second each at 250 prompt tokens on 2 cores). ``batch_size`` examples
    go through the model at once (left-padded); an optimizer step sees
    ``batch_size * grad_accum`` examples. Batches pay off on a GPU; on CPU keep 1.
    ``max_seconds`` budgets the optimisation: after the warm-up steps the examples that fit the
    budget at the rate measured so far are planned, and the learning rate decays to zero over
    them (``TrainResult.examples_seen`` says how many were trained on)."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ALL_LINEAR
    learning_rate: float = 3e-4
    epochs: int = 1
    grad_accum: int = 8
    batch_size: int = 1
    warmup_steps: int = 10
    max_examples: int | None = None
    max_prompt_tokens: int = 1024
    seed: int = 0
    save_dtype: SaveDtype = SaveDtype.FLOAT16
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        if min(self.rank, self.alpha, self.epochs, self.grad_accum, self.batch_size) < 1:
            raise ConfigError(
                "rank, alpha, epochs, grad_accum and batch_size must be >= 1", "fix the config"
            )
        if not 0 < self.learning_rate < 1 or not 0 <= self.dropout < 1:
            raise ConfigError("learning_rate must be in (0, 1), dropout in [0, 1)", "e.g. 3e-4")
        if self.max_examples is not None and self.max_examples < 1:
            raise ConfigError("max_examples must be >= 1", "drop --max-examples to use all")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ConfigError(f"max_seconds={self.max_seconds}", "give a positive time budget")
        try:
            object.__setattr__(self, "save_dtype", SaveDtype(self.save_dtype))
        except ValueError:
            raise ConfigError(f"save_dtype {self.save_dtype!r}", "use float16 or float32") from None


@dataclass(frozen=True)
class TrainResult:
    out: Path
    steps: int
    examples: int
    skipped: int
    seconds: float
    losses: tuple[float, ...] = field(repr=False)  # mean loss per optimizer step
    examples_seen: int = 0  # examples trained on, over all epochs (a budget may stop early)


def encode(tokenizer: Any, example: ReaderExample) -> tuple[list[int], list[int]]:
    """(prompt ids, reply ids); the reply ends with the end-of-turn token."""
    prompt = chat_prompt_ids(tokenizer, reader_messages(example.prompt))
    reply = target_reply(example.answer, example.cited)
    ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    return prompt, [*ids, tokenizer.eos_token_id]


def train_adapter(
    base_dir: Path,
    base_name: str,
    examples: Sequence[ReaderExample],
    out: Path,
    config: TrainConfig | None = None,
    *,
    data: dict[str, Any] | None = None,
    quiet: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    start: Path | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``examples`` and save it with its training card in ``out``.
    ``start``: an adapter folder whose LoRA weights training continues from (its rank, alpha
    and target modules, not ``config``'s, shape the LoRA, and the card records them), and
    whose reader files (config, abstention head, verifier) ``out`` keeps until it is
    recalibrated; None: fresh weights."""
    try:
        import peft  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise ConfigError(
            "training needs torch, transformers and peft", "pip install 'ragcore[generate]'"
        ) from None
    config = config or TrainConfig()
    if start is not None:
        lora = json.loads((start / "adapter_config.json").read_text())
        config = replace(config, rank=lora["r"], alpha=lora["lora_alpha"])
    if not examples:
        raise ConfigError("no training examples", "check --data and the article split")
    rng = random.Random(config.seed)
    chosen = list(examples)
    rng.shuffle(chosen)
    if config.max_examples is not None:
        chosen = chosen[: config.max_examples]
    torch.manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = torch.get_float32_matmul_precision()
    if device == "cuda":  # TF32 tensor cores for float32 matmuls (10-bit mantissa products)
        torch.set_float32_matmul_precision("high")
    try:
        return _train(
            torch,
            base_dir,
            base_name,
            chosen,
            rng,
            out,
            config,
            device,
            data,
            quiet,
            on_step,
            start,
        )
    finally:
        torch.set_float32_matmul_precision(precision)
        if device == "cuda":  # hand the training's memory back to the reader and to others
            torch.cuda.empty_cache()


def _train(
    torch: Any,
    base_dir: Path,
    base_name: str,
    chosen: Sequence[ReaderExample],
    rng: random.Random,  # continues the example draw's stream: it orders the epochs
    out: Path,
    config: TrainConfig,
    device: str,
    data: dict[str, Any] | None,
    quiet: bool,
    on_step: Callable[[int, float], None] | None,
    start: Path | None,
) -> TrainResult:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    encoded = [encode(tokenizer, ex) for ex in chosen]
    kept = [e for e in encoded if len(e[0]) + len(e[1]) <= config.max_prompt_tokens]
    skipped = len(encoded) - len(kept)
    if not kept:
        raise ConfigError(
            f"every example is longer than max_prompt_tokens={config.max_prompt_tokens}",
            "raise max_prompt_tokens",
        )
    model = _lora_model(torch, base_dir, config, device, start)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    started = time.perf_counter()
    losses, seen = _optimise(torch, model, kept, pad, rng, config, device, quiet, on_step)
    seconds = time.perf_counter() - started
    _save(torch, model, out, config, base_name)
    for name in () if start is None else CARRIED:
        if (start / name).is_file():
            shutil.copy(start / name, out / name)
    result = TrainResult(out, len(losses), len(kept), skipped, seconds, tuple(losses), seen)
    abstain = _abstain_ids(tokenizer)
    write_card(
        out,
        {
            "base_model": {"name": base_name, "sha256": model_fingerprint(base_dir)},
            "continued_from": None if start is None else _start_record(start),
            "data": data or {},
            "hyperparameters": asdict(config),
            "training": {
                "examples": len(kept),
                "examples_trained_on": seen,
                "skipped_too_long": skipped,
                "abstain_targets": sum(1 for _, reply in kept if reply == abstain),
                "optimizer_steps": len(losses),
                "seconds": round(seconds, 1),
                "device": device,
                "float32_matmul": torch.get_float32_matmul_precision(),
                "loss_first_10_steps": _mean(losses[:10]),
                "loss_last_10_steps": _mean(losses[-10:]),
            },
            "metrics": {},
        },
    )
    return result


def _start_record(start: Path) -> dict[str, Any]:
    return {"adapter": start.name, "sha256": file_sha256(start / "adapter_model.safetensors")}


def _lora_model(
    torch: Any, base_dir: Path, config: TrainConfig, device: str, start: Path | None = None
) -> Any:
    """The base model in float32 on ``device`` with LoRA weights (fresh, or ``start``'s), in
    training mode."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).to(device)
    if start is not None:
        with peft_quietly():
            model = PeftModel.from_pretrained(model, str(start), is_trainable=True)
        for param in model.parameters():  # the adapter may be saved in float16
            if param.requires_grad:
                param.data = param.data.float()
        model.train()
        return model
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    with peft_quietly():
        model = get_peft_model(model, lora)
    model.train()
    return model


def _optimise(
    torch: Any,
    model: Any,
    kept: Sequence[tuple[list[int], list[int]]],
    pad: int,
    rng: random.Random,
    config: TrainConfig,
    device: str,
    quiet: bool,
    on_step: Callable[[int, float], None] | None,
) -> tuple[list[float], int]:
    """AdamW over the LoRA weights for ``config.epochs`` (clipped gradients, linear warm-up
    then linear decay to zero): the mean reply-token loss of each optimizer step, and the
    examples trained on (fewer than all when ``config.max_seconds`` runs out)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    plan = _Plan(config, math.ceil(len(kept) / config.batch_size) * config.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_at)
    losses: list[float] = []
    window: list[float] = []
    seen = done = 0
    with Progress(quiet) as progress:
        task = progress.task("training adapter", total=plan.batches)
        for _ in range(config.epochs):
            order = list(range(len(kept)))
            rng.shuffle(order)
            batches = [
                [kept[i] for i in order[b : b + config.batch_size]]
                for b in range(0, len(order), config.batch_size)
            ]
            for i, batch in enumerate(batches, start=1):
                if done >= plan.batches:
                    break
                loss = _batch_loss(torch, model, batch, pad, device)
                (loss.mean() / config.grad_accum).backward()
                window.extend(float(x) for x in loss.detach())
                seen, done = seen + len(batch), done + 1
                progress.advance(task)
                if i % config.grad_accum == 0 or i == len(batches) or done >= plan.batches:
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    losses.append(sum(window) / len(window))
                    window.clear()
                    if plan.replan(len(losses), done):
                        progress.update(task, total=plan.batches)
                    progress.update(task, description=f"training adapter (loss {losses[-1]:.3f})")
                    if on_step is not None:
                        on_step(len(losses), losses[-1])
    model.eval()
    return losses, seen


class _Plan:
    """How many batches the run trains on, and the learning rate's schedule over them: all
    the epochs' batches, or (with ``max_seconds``) those that fit the budget at the rate
    measured over the warm-up steps."""

    def __init__(self, config: TrainConfig, batches: int) -> None:
        self.config, self.batches = config, batches
        self.started = time.perf_counter()

    def lr_at(self, step: int) -> float:
        warmup, total = self.config.warmup_steps, math.ceil(self.batches / self.config.grad_accum)
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    def replan(self, steps: int, done: int) -> bool:
        """After the warm-up (once): fit the batches to the budget; whether that changed."""
        budget = self.config.max_seconds
        if budget is None or steps != max(1, self.config.warmup_steps):
            return False
        elapsed = time.perf_counter() - self.started
        fit = done + int((budget - elapsed) * done / elapsed)
        planned = min(self.batches, max(done, fit))
        changed, self.batches = planned != self.batches, planned
        return changed


def _save(torch: Any, model: Any, out: Path, config: TrainConfig, base_name: str) -> None:
    """The LoRA weights (in ``config.save_dtype``) and peft's config naming ``base_name``."""
    out.mkdir(parents=True, exist_ok=True)
    if config.save_dtype is SaveDtype.FLOAT16:
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.data = param.data.to(torch.float16)
    # no embedding layers are adapted; "auto" would look the base up by name (a network call)
    model.save_pretrained(out, save_embedding_layers=False)
    (out / "README.md").unlink(missing_ok=True)  # peft's empty model card; ours is the card
    # peft records the local base path; the card's fingerprint identifies the base instead
    peft_config = json.loads((out / "adapter_config.json").read_text())
    peft_config["base_model_name_or_path"] = base_name
    (out / "adapter_config.json").write_text(json.dumps(peft_config, indent=2) + "\n")


def train_on_articles(
    base_dir: Path,
    base_name: str,
    data_path: Path,
    train: Sequence[Article],
    held_out: Sequence[str],
    out: Path,
    config: TrainConfig,
    *,
    distractor_rate: float = 0.3,
    drop_gold_rate: float = 0.08,
    quiet: bool = False,
) -> TrainResult:
    """The read-and-abstain recipe: RAFT examples (``adapters.raft``) of the ``train``
    articles of a SQuAD file, a LoRA trained on them, and a card naming the split."""
    if not train:
        raise ConfigError("every article is held out", "hold out fewer articles")
    examples = raft_examples(
        train, distractor_rate=distractor_rate, drop_gold_rate=drop_gold_rate, seed=config.seed
    )
    data = {
        "path": str(data_path),
        "sha256": file_sha256(data_path),
        "train_articles": [a.title for a in train],
        "held_out_articles": list(held_out),
        "recipe": {
            "kind": "raft",
            "distractor_rate": distractor_rate,
            "drop_gold_rate": drop_gold_rate,
            "questions": len(examples),
            "abstain_targets": sum(ex.answer is None for ex in examples),
            "with_distractor": sum(len(ex.passages) > 1 for ex in examples),
        },
    }
    return train_adapter(base_dir, base_name, examples, out, config, data=data, quiet=quiet)


def _batch_loss(
    torch: Any, model: Any, batch: Sequence[tuple[list[int], list[int]]], pad: int, device: str
) -> Any:
    """Per-example mean cross-entropy of the reply tokens. Sequences are left-padded, so every
    reply ends at the last position and the LM head runs on the last ``longest reply + 1``
    positions only."""
    keep = max(len(r) for _, r in batch) + 1
    ids, mask, positions = left_padded([p + r for p, r in batch], pad)
    labels = torch.full((len(batch), keep - 1), -100, dtype=torch.long)
    for row, (_, reply) in enumerate(batch):
        labels[row, keep - 1 - len(reply) :] = torch.tensor(reply)
    ids, mask, positions, labels = (t.to(device) for t in (ids, mask, positions, labels))
    logits = model(
        input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
    ).logits[:, :-1]
    tokens = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
    ).view(len(batch), -1)
    counted = (labels != -100).sum(-1)
    return tokens.sum(-1) / counted


def _abstain_ids(tokenizer: Any) -> list[int]:
    ids = tokenizer(target_reply(None, None), add_special_tokens=False)["input_ids"]
    return [*ids, tokenizer.eos_token_id]


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
