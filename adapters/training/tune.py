"""Tuning the reader to a team's own docs: ``ragcore adapters tune --index DIR``.

1. Questions are synthesized from the indexed chunks by the template generator
   (``evals.data.synthesis``): each answer is a span of its chunk, verified by construction.
2. The questions' pages are split: the calibration pages are kept out of training.
3. The training pages' questions become serving-shaped examples (``docs_recipe``: the passages
   ``ask`` retrieves, the page's chunk placed when retrieval missed it, and the page left out
   for abstentions); the LoRA continues from the start adapter for the time the budget leaves.
4. The calibration pages' questions are read as ``ask`` serves them, and again with their page
   left out of retrieval ("not in the docs"); the answer verifier and the threshold are refit
   on those readings for the target precision (``calibration.calibrate_adapter``).
5. The span reader reads the same calibration prompts at its shipped threshold; the card
   records both readers' right and wrong answers there (``reader_choice``), and the tuned
   adapter serves only when it has more right minus wrong ones.
6. The adapter is written under the index (``index_folder.TUNED_ADAPTER``), replacing the
   previous one only once it is complete; ``ask`` over the index then reads with it, unless
   the span reader did better in step 5. Such a losing adapter never displaces an earlier
   tuned adapter that serves: it is kept beside it (``index_folder.TUNED_NOT_SERVING``).

Everything that opens the index happens before training, so ``ask`` and ``ingest`` are kept
waiting for seconds, not for the training run.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragcore.adapters.reader.card import write_card
from ragcore.adapters.reader.verifier import VerifierFeature
from ragcore.adapters.training.calibration import CalibrationSet, calibrate_adapter
from ragcore.adapters.training.calibration_record import (
    CalibratedOn,
    Calibration,
    PrecisionTarget,
)
from ragcore.adapters.training.docs_recipe import (
    DocsRecipe,
    docs_examples,
    left_out,
    served_examples,
)
from ragcore.adapters.training.lora import TrainConfig, train_adapter
from ragcore.adapters.training.raft import ReaderExample
from ragcore.adapters.training.reader_choice import ReaderChoice, span_reader_tally
from ragcore.evals.data.gold import GoldQuestion
from ragcore.evals.data.synthesis import TemplateQuestionGenerator, synthesize

from ragcore.ask import AskConfig, retrieve
from ragcore.errors import ConfigError
from ragcore.index import Index
from ragcore.index_folder import (
    TUNED_ADAPTER,
    TUNED_NOT_SERVING,
    ServingReader,
    serving_tuned_adapter,
)
from ragcore.progress import Progress


@dataclass(frozen=True)
class TuneConfig:
    """``minutes`` bounds the whole run; training gets what synthesis, retrieval and the
    calibration reserve (``calibration_seconds`` per calibration prompt) leave of it."""

    minutes: float = 30.0
    questions: int = 800  # synthesized at most, spread evenly over the pages
    calibration_questions: int = 120  # of them, on pages kept out of training
    calibration_left_out: float = 0.5  # share also read with their page left out
    leave_out_rate: float = 0.35  # training: share also asked with their page left out
    passages: int = 3
    learning_rate: float = 1e-4  # continued training: a third of a fresh LoRA's rate
    target_precision: float = 0.9
    # one calibration prompt on 2 CPU cores (reading plus the verifier's cross-encoder): the
    # 576 docs questions of `adapters calibrate --gold` took 1353 s with their retrieval
    calibration_seconds: float = 2.35
    # the span reader on the same prompts, for the choice of reader (about 0.1 s each)
    comparison_seconds: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ConfigError(f"minutes={self.minutes}", "give a positive --minutes budget")
        if not 1 <= self.calibration_questions < self.questions:
            raise ConfigError(
                f"calibration_questions={self.calibration_questions} of {self.questions}",
                "keep fewer calibration questions than questions, and at least one",
            )
        for name in ("calibration_left_out", "leave_out_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)}", "use a share in [0, 1]")
        PrecisionTarget(self.target_precision)  # validates it

    @property
    def calibration_reads(self) -> float:
        """Calibration prompts expected: the questions, and the share read again."""
        return self.calibration_questions * (1 + self.calibration_left_out)


@dataclass(frozen=True)
class TuneSplit:
    train: tuple[GoldQuestion, ...]
    calibration: tuple[GoldQuestion, ...]


@dataclass(frozen=True)
class TuneResult:
    out: Path
    synthesized: int
    split: TuneSplit
    train_examples: int
    trained_on: int
    calibration_prompts: int
    calibration: Calibration
    choice: ReaderChoice
    seconds: float


def synthetic_gold(chunks: Any, n: int, seed: int) -> list[GoldQuestion]:
    """Up to ``n`` template questions over ``chunks``, spread evenly over their pages (docs
    have few long pages), as gold questions naming their page."""
    chunks = list(chunks)
    pages = len({c.doc_id for c in chunks}) or 1
    per_page = max(3, math.ceil(n / pages))
    made = synthesize(chunks, TemplateQuestionGenerator(), n, seed=seed, per_document=per_page)
    return [GoldQuestion(q.id, q.question, (q.answer,), q.source) for q in made]


def split_pages(questions: Sequence[GoldQuestion], calibration: int, seed: int) -> TuneSplit:
    """Whole pages, drawn at random (seeded), to the calibration side until it holds
    ``calibration`` questions; the rest train."""
    sizes = Counter(q.page for q in questions)
    pages = sorted(sizes)
    random.Random(seed).shuffle(pages)
    held: set[str] = set()
    count = 0
    for page in pages:
        if count >= calibration:
            break
        held.add(page)
        count += sizes[page]
    train = tuple(q for q in questions if q.page not in held)
    return TuneSplit(train, tuple(q for q in questions if q.page in held))


def calibration_prompts(
    index: Index, questions: Sequence[GoldQuestion], config: TuneConfig, *, quiet: bool = True
) -> tuple[ReaderExample, ...]:
    """The questions as ``ask`` serves them, and a share of them again with their own page
    left out of retrieval (unanswerable: no other page's passages hold the answer)."""
    served = served_examples(
        index, questions, passages=config.passages, name="synthetic", quiet=quiet
    )
    rng = random.Random(config.seed)
    chosen = [q for q in questions if rng.random() < config.calibration_left_out]
    extra = []
    with Progress(quiet) as progress:
        task = progress.task("leaving pages out", total=len(chosen))
        for q in chosen:
            hits = retrieve(index, q.question, AskConfig(passages=10)).hits
            if shown := left_out(q, hits, config.passages):
                group = f"synthetic:{q.page}"
                extra.append(
                    ReaderExample(f"{q.id}-left-out", q.question, shown, None, None, (), group)
                )
            progress.advance(task)
    return (*served, *extra)


def tune(
    open_index: Any,
    index_dir: Path,
    start: Path,
    base: tuple[Path, str],
    config: TuneConfig | None = None,
    *,
    quiet: bool = True,
) -> TuneResult:
    """Tune ``start`` (an adapter folder) to the index ``open_index()`` opens, at
    ``index_dir``, within ``config.minutes`` (see the module's docstring)."""
    config = config or TuneConfig()
    began = time.perf_counter()
    _check_time(config, config.minutes * 60, config.calibration_reads)
    with open_index() as index:
        questions = synthetic_gold(index.chunks(), config.questions, config.seed)
        if len(questions) <= config.calibration_questions:
            raise ConfigError(
                f"the index gave {len(questions)} synthetic questions, and "
                f"{config.calibration_questions} are kept for calibration",
                "ingest more documents, or lower the calibration questions",
            )
        split = split_pages(questions, config.calibration_questions, config.seed)
        recipe = DocsRecipe(
            passages=config.passages, leave_out_rate=config.leave_out_rate, seed=config.seed
        )
        built = docs_examples(index, split.train, recipe, quiet=quiet)
        prompts = calibration_prompts(index, split.calibration, config, quiet=quiet)
    spent = time.perf_counter() - began
    left = _check_time(config, config.minutes * 60 - spent, len(prompts))
    partial = index_dir / TUNED_ADAPTER.with_name("tuned-partial")
    shutil.rmtree(partial, ignore_errors=True)
    data = {
        "kind": "tune",
        "index": str(index_dir.resolve()),
        "synthesized": len(questions),
        "train_questions": len(split.train),
        "calibration_questions": len(split.calibration),
        **vars(built.counts),
    }
    trained = _train(built.examples, partial, start, base, config, left, data, quiet)
    chosen = CalibrationSet(
        prompts,
        ("synthetic",),
        config.passages,
        CalibratedOn.SYNTHETIC,
        extra_features=(VerifierFeature.PASSAGE_RELEVANCE,),
    )
    calibration = _calibrate(partial, base, chosen, config, quiet)
    assert calibration.served is not None  # calibrate_adapter tallies its threshold
    choice = ReaderChoice(calibration.served, span_reader_tally(prompts, quiet=quiet))
    write_card(partial, {"metrics": {"reader_choice": choice.to_json()}})
    out = publish(partial, index_dir, choice.chosen)
    if choice.chosen is ServingReader.TUNED:
        _merge(base, out)
    return TuneResult(
        out,
        len(questions),
        split,
        len(built.examples),
        trained,
        len(prompts),
        calibration,
        choice,
        time.perf_counter() - began,
    )


def _check_time(config: TuneConfig, seconds: float, reads: float) -> float:
    """The seconds left to train once ``reads`` calibration prompts' time is kept, or a
    clear refusal."""
    reserve = reads * (config.calibration_seconds + config.comparison_seconds)
    left = seconds - reserve
    if left <= 0:
        raise ConfigError(
            f"{config.minutes:g} minutes leave no time to train after synthesis, retrieval "
            f"and calibration (about {reserve:.0f} s)",
            "raise --minutes, or lower --questions and --calibration-questions",
        )
    return left


def _train(
    examples: Sequence[ReaderExample],
    out: Path,
    start: Path,
    base: tuple[Path, str],
    config: TuneConfig,
    seconds: float,
    data: dict[str, Any],
    quiet: bool,
) -> int:
    """Continue ``start``'s LoRA on ``examples`` for at most ``seconds``: examples seen."""
    train = TrainConfig(learning_rate=config.learning_rate, seed=config.seed, max_seconds=seconds)
    result = train_adapter(*base, examples, out, train, data=data, quiet=quiet, start=start)
    return result.examples_seen


def _calibrate(
    adapter: Path,
    base: tuple[Path, str],
    chosen: CalibrationSet,
    config: TuneConfig,
    quiet: bool,
) -> Calibration:
    from ragcore.adapters.reader.registry import AdapterInfo, AdapterRegistry

    registry = AdapterRegistry(*base)
    reader = registry.reader(registry.load(AdapterInfo.at(adapter)))
    target = PrecisionTarget(config.target_precision)
    return calibrate_adapter(reader, adapter, chosen, target=target, quiet=quiet)


def _merge(base: tuple[Path, str], adapter: Path) -> None:
    """Fold the adapter into the base in the model cache now, so the first ``ask`` does not."""
    from ragcore.adapters.reader.merged import merged_model
    from ragcore.adapters.reader.registry import AdapterInfo

    merged_model(base[0], AdapterInfo.at(adapter))


def publish(partial: Path, index_dir: Path, chosen: ServingReader) -> Path:
    """Put the complete adapter ``partial`` under the index in place of the previous one
    (never half of either), and return where it now is. An adapter that lost to the span
    reader (``chosen``) does not displace a tuned adapter that serves the index: it goes to
    ``TUNED_NOT_SERVING`` instead, so ``ask`` keeps the reader that won. A tuned adapter
    whose card cannot be read serves nothing (readers refuse it), so it is replaced."""
    final = index_dir / TUNED_ADAPTER
    if chosen is ServingReader.SPAN_READER and _serving(index_dir):
        final = index_dir / TUNED_NOT_SERVING
    else:  # older than the adapter about to be written
        shutil.rmtree(index_dir / TUNED_NOT_SERVING, ignore_errors=True)
    previous = final.with_name(final.name + "-previous")
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    partial.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def _serving(index_dir: Path) -> bool:
    """Whether a readable tuned adapter serves the index now."""
    try:
        return serving_tuned_adapter(index_dir) is not None
    except ConfigError:  # a broken card: what the error's hint says to do is tune again
        return False
