"""The extractive reader: finds the answer as a span of one passage, cites that passage, and
abstains when "no answer" outscores every span.

Each numbered passage is read with the question as ``[CLS] question [SEP] passage [SEP]``
(long passages in overlapping windows) by ``BertQA``. A span's score is its start logit plus
its end logit; the "no answer" score is the [CLS] position's (Devlin et al., "BERT", 2019,
section 4.3, the SQuAD 2.0 null score). Across all windows of all passages the best span
competes with the lowest null score; ``sigmoid(null - span)`` is the
abstention score, compared with the threshold calibrated for the deployment
(``adapters.training.extractive``). The answer is copied from the passage, so it is cited
correctly by construction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ragcore.adapters.reader.spans import code_unit

from ragcore.errors import ConfigError, PluginError
from ragcore.protocols import Reply
from ragcore.types import Prompt

CONFIG_FILE = "extractive_config.json"
WEIGHTS_FILE = "extractive_model.safetensors"
MAX_QUESTION_TOKENS = 64


@dataclass(frozen=True)
class ExtractiveConfig:
    """How the extractive reader reads; saved beside its weights as ``CONFIG_FILE``.

    ``abstain_threshold``: abstain when the fail score ``sigmoid(null - span)`` reaches it
    (None: always answer), calibrated for the deployment."""

    max_length: int = 384
    stride: int = 128
    max_answer_tokens: int = 30
    abstain_threshold: float | None = 0.5

    def __post_init__(self) -> None:
        t = self.abstain_threshold
        if t is not None and not 0.0 <= t <= 1.0:
            raise ConfigError(f"abstain_threshold {t} is not in [0, 1]", "calibrate it, e.g. 0.5")
        if not 0 <= self.stride < self.max_length - MAX_QUESTION_TOKENS - 3:
            raise ConfigError(
                f"stride {self.stride} does not fit max_length {self.max_length}",
                "use a stride well below max_length, e.g. 384 and 128",
            )
        if self.max_answer_tokens < 1:
            raise ConfigError("max_answer_tokens must be >= 1", f"fix {CONFIG_FILE}")

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ExtractiveConfig:
        try:
            return cls(**json.loads((folder / CONFIG_FILE).read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise PluginError(
                f"{folder / CONFIG_FILE} is not an extractive reader config ({e})",
                "pass a folder written by ragcore adapters train-extractive",
            ) from None


@dataclass(frozen=True)
class Window:
    """One tokenised window of a passage: model inputs and where its tokens sit in the text."""

    passage: int  # 0-based
    ids: tuple[int, ...]
    types: tuple[int, ...]
    offsets: tuple[tuple[int, int] | None, ...]  # None: not a passage token


@dataclass(frozen=True)
class SpanChoice:
    passage: int  # 0-based
    start: int  # character offsets in the passage text
    end: int
    span_score: float
    null_score: float


def bert_qa() -> Any:
    """``adapters.reader.bert_qa`` (torch), or the error that says how to install it."""
    try:
        import torch  # noqa: F401
        from ragcore.adapters.reader import bert_qa as module
    except ImportError as exc:
        raise PluginError(
            f"the span reader cannot be imported ({exc})", "pip install 'ragcore[generate]'"
        ) from None
    return module


@dataclass(frozen=True)
class EncoderTokenizer:
    """The encoder's tokenizer twice: ``pairs`` cuts (question, passage) into overlapping
    windows; ``plain`` measures the question uncut."""

    pairs: Any
    plain: Any


def encoder_tokenizer(config: ExtractiveConfig) -> EncoderTokenizer:
    from tokenizers import Tokenizer

    path = str(bert_qa().packaged_encoder_dir() / "tokenizer.json")
    pairs, plain = Tokenizer.from_file(path), Tokenizer.from_file(path)
    for t in (pairs, plain):
        t.no_padding()
        t.no_truncation()
    pairs.enable_truncation(
        max_length=config.max_length, stride=config.stride, strategy="only_second"
    )
    return EncoderTokenizer(pairs, plain)


def short_question(tokenizer: EncoderTokenizer, question: str) -> str:
    """The question cut to ``MAX_QUESTION_TOKENS`` tokens, so a passage always has room."""
    offsets = tokenizer.plain.encode(question, add_special_tokens=False).offsets
    if len(offsets) <= MAX_QUESTION_TOKENS:
        return question
    return question[: offsets[MAX_QUESTION_TOKENS - 1][1]]


def windows(tokenizer: EncoderTokenizer, question: str, passages: Sequence[str]) -> list[Window]:
    """Every window of every passage, read against the question."""
    question = short_question(tokenizer, question)
    out = []
    for n, text in enumerate(passages):
        first = tokenizer.pairs.encode(question, text)
        for enc in [first, *first.overflowing]:
            seq = enc.sequence_ids
            offsets = tuple(o if s == 1 else None for o, s in zip(enc.offsets, seq, strict=True))
            out.append(Window(n, tuple(enc.ids), tuple(enc.type_ids), offsets))
    return out


def best_span(
    start: np.ndarray, end: np.ndarray, offsets: Sequence[tuple[int, int] | None], longest: int
) -> tuple[float, int, int] | None:
    """The highest ``start[i] + end[j]`` over passage tokens ``i <= j < i + longest``, as
    (score, i, j); None when the window holds no passage token."""
    ok = np.array([o is not None for o in offsets])
    if not ok.any():
        return None
    s = np.where(ok, start, -np.inf)
    e = np.where(ok, end, -np.inf)
    n = len(s)
    pair = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    pair[(j < i) | (j >= i + longest)] = -np.inf
    flat = int(np.argmax(pair))
    a, b = divmod(flat, n)
    return float(pair[a, b]), a, b


CURRENCY_SIGNS = "$€£¥"


def with_units(text: str, start: int, end: int) -> tuple[int, int]:
    """The span ``text[start:end]`` widened over a currency sign right before it and a percent
    sign right after it: the tokenizer splits "$18" and "5%" into two tokens, and the span
    head may pick the number alone."""
    if start > 0 and text[start - 1] in CURRENCY_SIGNS:
        start -= 1
    if end < len(text) and text[end] == "%":
        end += 1
    return start, end


def answer_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The answer the span ``text[start:end]`` stands for: the whole inline code unit when
    the span lies in one or cuts one (``spans.code_unit``: a flag, a setting, a path), with
    its currency and percent signs (``with_units``). On the 3 docs sets, `eval diagnose`
    then gets PDM 48.4% right at 83.3% precision (77.8% before); docsqa-dev and Hatch do not
    move (docs/reader.md)."""
    return with_units(text, *code_unit(text, start, end))


class ExtractiveReader:
    """The ``Generator`` contract over ``BertQA``: one span of one passage, or abstention."""

    def __init__(self, folder: Path, name: str | None = None) -> None:
        module = bert_qa()  # torch, or the error naming the extra
        import torch
        from safetensors.torch import load_file

        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            raise PluginError(
                f"{folder} holds no {WEIGHTS_FILE}", "pass an extractive reader's folder"
            )
        self.folder, self.name = folder, name or folder.name
        self.config = ExtractiveConfig.load(folder)
        self.model = module.load_bert_qa(load_file(str(weights))).eval()
        self.tokenizer = encoder_tokenizer(self.config)
        self._torch, self._bert_qa = torch, module

    def logits(self, batch: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of windows (padded to the longest)."""
        with self._torch.inference_mode():
            start, end = self.model(*self._bert_qa.padded(batch))
        return start.numpy(), end.numpy()

    def choose(self, question: str, passages: Sequence[str]) -> SpanChoice | None:
        """The best span over all passages and the lowest null score; None for no passages."""
        found = windows(self.tokenizer, question, passages)
        if not found:
            return None
        start, end = self.logits(found)
        best: SpanChoice | None = None
        null = math.inf
        for k, w in enumerate(found):
            n = len(w.ids)
            null = min(null, float(start[k, 0] + end[k, 0]))
            span = best_span(start[k, :n], end[k, :n], w.offsets, self.config.max_answer_tokens)
            if span is None or (best is not None and span[0] <= best.span_score):
                continue
            a, b = w.offsets[span[1]], w.offsets[span[2]]
            assert a is not None and b is not None
            first, last = answer_bounds(passages[w.passage], a[0], b[1])
            best = SpanChoice(w.passage, first, last, span[0], null)
        if best is None:
            return None
        return SpanChoice(best.passage, best.start, best.end, best.span_score, null)

    def fail_probability(self, choice: SpanChoice) -> float:
        x = choice.null_score - choice.span_score
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        texts = [p.text for p in prompt.passages]
        choice = self.choose(prompt.question, texts)
        span = None if choice is None else texts[choice.passage][choice.start : choice.end]
        if choice is None or not span or not span.strip():
            reply = Reply(None)
        else:
            score = self.fail_probability(choice)
            threshold = self.config.abstain_threshold
            withheld = threshold is not None and score >= threshold
            n = choice.passage + 1
            answer = None if withheld else span.strip()
            reply = Reply(answer, () if withheld else (n,), (), score, span.strip(), n)
        if on_token is not None:
            on_token(reply.text)
        return reply


#: the extractive reader shipped in ``adapters/shipped/``
SHIPPED_EXTRACTIVE = "span-reader"


def extractive_reader(model: str | Path | None = None, threads: int | None = None) -> Any:
    """The ``extractive`` generator plugin: the shipped span reader, or a folder written by
    ``ragcore adapters train-extractive`` (``model``)."""
    from ragcore.adapters.reader.registry import SHIPPED

    if threads:
        import torch

        torch.set_num_threads(threads)
    folder = Path(model) if model else SHIPPED / SHIPPED_EXTRACTIVE
    if not folder.is_dir():
        raise PluginError(f"no extractive reader at {folder}", "pass a reader folder")
    return ExtractiveReader(folder)
