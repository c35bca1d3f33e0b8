"""Reader decoding: calibrated abstention from token probabilities, then span-constrained
greedy decoding.

1. **Abstention.** The reply "I don't know." is scored by teacher forcing on top of the
   prompt's KV cache: ``p_abstain = P(abstention reply | prompt)``, the product of its token
   probabilities. The reader abstains when its ``AbstainScore`` (that probability, its share
   against the decoded span, or the adapter's abstention head) reaches ``abstain_threshold``,
   calibrated on held-out articles (``calibrate_threshold``), in the spirit of the null-score
   threshold of extractive SQuAD 2.0 readers (Devlin et al., "BERT", 2019, section 4.3).
2. **Span-constrained decoding.** Otherwise the answer is decoded greedily, but each step
   keeps the most likely of the ``top_k`` next tokens whose text keeps the answer a verbatim
   substring of some passage; it stops at end-of-turn, at a citation bracket, or when no
   candidate continues a span. The citation is then the passage that holds the span, so
   every answer is copied and correctly cited by construction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.candidates import AnswerCandidates
from ragcore.adapters.reader.spans import answer_span
from ragcore.adapters.reader.tokens import cache_keyword

from ragcore.errors import ConfigError
from ragcore.prompting import ABSTAIN_REPLY
from ragcore.settings_io import enum_value

READER_CONFIG_FILE = "reader_config.json"

#: (decoded span, its 1-based passage, passages) -> (the answer chosen, its passage)
Chooser = Callable[[str, int | None, Sequence[str]], tuple[str, int | None]]


class AbstainScore(StrEnum):
    """What the abstention threshold is compared with.

    - ``p_abstain``: P(abstention reply | prompt).
    - ``null_vs_span``: p_abstain / (p_abstain + P(decoded span | prompt)), the abstention's
      share against the best span found, like the null-vs-best-span score of extractive
      SQuAD 2.0 readers.
    - ``head``: P(unanswerable) from the adapter's abstention head, a linear probe on a hidden
      layer at the last prompt token (``adapters.abstain_head``).
    - ``verifier``: P(answering fails) from the adapter's answer verifier, which judges the
      decoded span's sentence with a cross-encoder (``adapters.verifier``)."""

    P_ABSTAIN = "p_abstain"
    NULL_VS_SPAN = "null_vs_span"
    HEAD = "head"
    VERIFIER = "verifier"

    @property
    def before_decoding(self) -> bool:
        """Whether the score is known before the span is decoded."""
        return self in (AbstainScore.P_ABSTAIN, AbstainScore.HEAD)


@dataclass(frozen=True)
class ReaderConfig:
    """How an adapter decodes; saved as ``reader_config.json`` beside the adapter."""

    constrained: bool = True
    abstain_threshold: float | None = 0.5  # None: no probability gate, plain greedy reply
    score: AbstainScore = AbstainScore.NULL_VS_SPAN
    top_k: int = 20
    max_answer_tokens: int = 32
    candidates: AnswerCandidates = AnswerCandidates.DRAFT

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "score", enum_value(AbstainScore, self.score, "reader_config score")
        )
        candidates = enum_value(AnswerCandidates, self.candidates, "reader_config candidates")
        object.__setattr__(self, "candidates", candidates)
        t = self.abstain_threshold
        if t is not None and not 0.0 <= t <= 1.0:
            raise ConfigError(f"abstain_threshold {t} is not in [0, 1]", "calibrate it, e.g. 0.5")
        if self.top_k < 1 or self.max_answer_tokens < 1:
            raise ConfigError("top_k and max_answer_tokens must be >= 1", "fix reader_config")

    def save(self, folder: Path) -> None:
        raw = asdict(self) | {"score": self.score.value, "candidates": self.candidates.value}
        (folder / READER_CONFIG_FILE).write_text(json.dumps(raw, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ReaderConfig:
        path = folder / READER_CONFIG_FILE
        if not path.is_file():
            return cls()
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"{path} is not JSON ({e})", "fix it, or copy the adapter's folder again"
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} is not a JSON object", "fix it, or copy the adapter again")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class Reading:
    """A decoded reply with the evidence for the abstention decision."""

    answer: str | None  # the span (None: nothing decodable)
    cited: int | None  # 1-based passage holding the span
    p_abstain: float
    p_answer: float | None = None  # probability of the decoded span's tokens (the draft's,
    # also when ``ReaderConfig.candidates`` chose a code unit instead)
    p_head: float | None = None  # the abstention head's P(unanswerable), when it has one
    p_verify: float | None = None  # the answer verifier's P(answering fails), when it has one

    def abstain_score(self, score: AbstainScore = AbstainScore.NULL_VS_SPAN) -> float:
        if score is AbstainScore.VERIFIER:
            if self.p_verify is None:
                raise ConfigError(
                    "reader_config.json scores abstention with an answer verifier, but the "
                    "adapter has no abstain_verifier.json",
                    "refit it with ragcore adapters calibrate, or set score",
                )
            return self.p_verify
        if score is AbstainScore.HEAD:
            if self.p_head is None:
                raise ConfigError(
                    "reader_config.json scores abstention with a head, but the adapter has no "
                    "abstain_head.safetensors",
                    "refit it with ragcore adapters calibrate --head-article, or set score",
                )
            return self.p_head
        if score is AbstainScore.P_ABSTAIN or self.p_answer is None:
            return self.p_abstain
        return self.p_abstain / (self.p_abstain + self.p_answer)

    def gives(
        self, threshold: float | None, score: AbstainScore = AbstainScore.NULL_VS_SPAN
    ) -> bool:
        """Whether the span is given (else the reader abstains) at ``threshold``."""
        return self.answer is not None and (
            threshold is None or self.abstain_score(score) < threshold
        )

    def reply(
        self, threshold: float | None, score: AbstainScore = AbstainScore.NULL_VS_SPAN
    ) -> str:
        """The reply's text as streamed: ``span [n]``, or the abstention."""
        if not self.gives(threshold, score):
            return ABSTAIN_REPLY
        return f"{self.answer} [{self.cited}]" if self.cited else str(self.answer)


def _norm(text: str) -> str:
    return " ".join(text.split())


def read(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[int],
    passages: Sequence[str],
    config: ReaderConfig,
    *,
    decode_when_abstaining: bool = True,
    on_token: Callable[[str], None] | None = None,
    head: Any = None,
    verify: Callable[[Reading], float] | None = None,
    choose: Chooser | None = None,
) -> Reading:
    """Score the abstention, then decode a span (see the module docstring). ``head`` is the
    adapter's ``AbstainHead`` and ``verify`` gives its answer verifier's P(answering fails)
    for a decoded reading, if it has them; ``choose`` replaces the decoded span and its
    passage with another candidate (``adapters.reader.candidates``), and the reply is then
    sent whole once chosen."""
    import torch

    device = next(model.parameters()).device
    if hasattr(model, "new_cache"):  # adapters.reader.llama: the packaged base, no transformers
        cache = model.new_cache()
    else:
        from transformers import DynamicCache

        cache = DynamicCache()
    kv = {cache_keyword(model): cache, "use_cache": True}
    with torch.inference_mode():
        ids = torch.tensor([list(prompt_ids)], device=device)
        first = model(input_ids=ids, output_hidden_states=bool(head), **kv)
        logits = first.logits[0, -1]
        p_head = float(head.probability(first.hidden_states[head.layer][0, -1])) if head else None
        abstain = tokenizer(ABSTAIN_REPLY, add_special_tokens=False)["input_ids"]
        follow = model(input_ids=torch.tensor([abstain], device=device), **kv).logits[0]
        steps = torch.cat([logits[None], follow[:-1]]).log_softmax(-1)
        p_abstain = math.exp(float(steps[torch.arange(len(abstain)), torch.tensor(abstain)].sum()))
        cache.crop(-len(abstain))  # back to the prompt alone
        threshold = config.abstain_threshold
        early = config.score.before_decoding and threshold is not None
        if early and not decode_when_abstaining:
            before = Reading(None, None, p_abstain, None, p_head)
            if before.abstain_score(config.score) >= threshold:
                if on_token is not None:
                    on_token(ABSTAIN_REPLY)
                return before
        texts = [_norm(p) for p in passages]
        answer_ids: list[int] = []
        answer = ""
        logp_answer = 0.0
        stop_ids = {tokenizer.eos_token_id, *_special_ids(tokenizer)}
        stream = on_token if (early or threshold is None) and choose is None else None
        for step in range(config.max_answer_tokens):
            # The abstention's first token ("I") is no answer start, though "I" occurs in
            # passages as a prefix of "It", "In", ...
            banned = {abstain[0]} if step == 0 and config.constrained else set()
            stops = stop_ids | banned
            choice = _next_token(tokenizer, logits, answer_ids, answer, texts, stops, config)
            if choice is None:
                break
            token, text = choice
            logp_answer += float(logits.log_softmax(-1)[token])
            if stream is not None and text.strip():
                stream(text[len(answer) :] if answer else text.lstrip())
            answer_ids.append(token)
            answer = text
            logits = model(input_ids=torch.tensor([[token]], device=device), **kv).logits[0, -1]
    span = _norm(answer).strip()
    span, cited = answer_span(span, texts)
    if span and choose is not None:
        span, cited = choose(span, cited, texts)
    if not span:
        if on_token is not None:
            on_token(ABSTAIN_REPLY)
        return Reading(None, None, p_abstain, None, p_head)
    reading = Reading(span, cited, p_abstain, math.exp(logp_answer), p_head)
    if verify is not None:
        reading = replace(reading, p_verify=verify(reading))
    if on_token is not None and stream is None:  # decided only now: send the whole reply
        on_token(reading.reply(threshold, config.score))
    elif on_token is not None and cited is not None:
        on_token(f" [{cited}]")
    return reading


def _special_ids(tokenizer: Any) -> list[int]:
    return [i for i in getattr(tokenizer, "all_special_ids", []) if i is not None]


def _next_token(
    tokenizer: Any,
    logits: Any,
    answer_ids: list[int],
    answer: str,
    texts: Sequence[str],
    stop_ids: set[int],
    config: ReaderConfig,
) -> tuple[int, str] | None:
    """The best next token and the answer text it gives; None to stop. A token that ends
    inside a UTF-8 character is accepted (it cannot be matched against ``texts`` yet)."""
    import torch

    for token in torch.topk(logits, config.top_k).indices.tolist():
        if token in stop_ids:
            if answer.strip():
                return None
            continue
        text = tokenizer.decode([*answer_ids, token], skip_special_tokens=True)
        if answer.strip() and text[len(answer) :].lstrip().startswith(("[", "\n")):
            return None  # the model moves on to the citation: the span is complete
        if not config.constrained:
            return token, text
        candidate = _norm(text).strip()
        if not candidate:
            continue
        if text.endswith("\ufffd") or any(candidate in t for t in texts):
            return token, text
    return None
