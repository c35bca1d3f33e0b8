"""``adapters tune``: adapt the reader to the user's own documents, within a time budget.

1. Questions are synthesized from the indexed chunks (``evals.synthesis``; answers verified by
   construction), and documents split between training and calibration.
2. Serving-shaped prompts are built from retrieval over the index (``adapters.rag_data``):
   answerable ones with the question's chunk among near neighbours, unanswerable ones with
   its document left out.
3. Training continues from the starting adapter (the shipped reader by default) and stops
   when its share of the budget is spent.
4. The abstention is recalibrated for the deployment (``adapters.precision_calibration``) on
   the calibration documents, and the adapter is saved with its card under the index
   (``<index>/adapters/tuned``), where ``ask`` finds it.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragcore.adapters.precision_calibration import (
    ANSWERABLE_SHARE,
    TARGET_PRECISION,
    PrecisionCalibration,
    calibrate_for_precision,
)
from ragcore.adapters.rag_data import RagDataConfig, rag_examples, split_by_document
from ragcore.adapters.training import TrainConfig, read_card, train_adapter, write_card
from ragcore.evals.synthesis import TemplateQuestionGenerator, synthesize

from ragcore.errors import ConfigError

if TYPE_CHECKING:
    from ragcore.index import Index

TUNED = Path("adapters") / "tuned"
EXTRAS = ("reader_config.json", "abstain_head.safetensors", "abstain_verifier.json")
# Continues the shipped reader (r=16, alpha 32) at a lower rate; the time budget stops it
# before the third pass on a CPU, and decays the rate over the budget (adapters.training).
TUNE_TRAINING = TrainConfig(
    rank=16, alpha=32, learning_rate=2e-4, epochs=3, max_prompt_tokens=1400
)
READ_SECONDS = 2.0  # one calibration reading on 2 CPU cores, 3 passages (measured ~1.5-2 s)


def tuned_dir(index_dir: str | Path) -> Path:
    """Where ``adapters tune`` saves an index's adapter."""
    return Path(index_dir) / TUNED


@dataclass(frozen=True)
class TuneConfig:
    """``minutes``: the whole run's budget; ``questions``: synthesized at most (at most
    ``per_document`` per document, or twice the even share in a corpus of few documents);
    ``calibration_share``: documents kept for calibration,
    whose questions are read at most ``max_calibration`` times."""

    minutes: float = 30.0
    questions: int = 2000
    per_document: int = 40
    calibration_share: float = 0.25
    max_calibration: int = 240
    target_precision: float = TARGET_PRECISION
    answerable_share: float = ANSWERABLE_SHARE
    seed: int = 0
    data: RagDataConfig = field(default_factory=RagDataConfig)

    def __post_init__(self) -> None:
        if self.minutes <= 0 or self.questions < 10 or self.max_calibration < 10:
            raise ConfigError(
                "minutes must be > 0, questions and max_calibration >= 10", "e.g. --minutes 30"
            )
        if not 0 < self.calibration_share < 1:
            raise ConfigError(f"calibration_share {self.calibration_share} not in (0, 1)", "0.25")


@dataclass(frozen=True)
class TuneResult:
    out: Path
    train_examples: int
    calibration_examples: int
    steps: int
    train_seconds: float
    calibration: PrecisionCalibration


def tune(
    index: Index,
    base_dir: Path,
    base_name: str,
    start: Path,
    config: TuneConfig | None = None,
    train: TrainConfig | None = None,
    *,
    quiet: bool = False,
) -> TuneResult:
    """Tune the adapter at ``start`` on ``index``'s documents; saves ``tuned_dir(index)``."""
    from ragcore.adapters.registry import AdapterRegistry

    config = config or TuneConfig()
    started = time.perf_counter()
    chunks = list(index.chunks())
    documents = len({c.doc_id for c in chunks})
    per_document = max(config.per_document, math.ceil(2 * config.questions / max(1, documents)))
    questions = synthesize(
        chunks, TemplateQuestionGenerator(), config.questions, config.seed, per_document
    )
    train_q, cal_q = split_by_document(questions, config.calibration_share)
    cal_q = cal_q[: config.max_calibration]
    train_ex = rag_examples(index, train_q, config.data, quiet=quiet)
    cal_ex = rag_examples(index, cal_q, config.data, quiet=quiet)
    if len(train_ex) < 8 or len(cal_ex) < 8 or not any(e.answer for e in cal_ex):
        raise ConfigError(
            f"the index gave {len(train_ex)} training and {len(cal_ex)} calibration examples",
            "tune needs more documents (a few dozen pages of prose)",
        )
    left = config.minutes * 60 - (time.perf_counter() - started) - READ_SECONDS * len(cal_ex)
    if left < 30:
        raise ConfigError(
            f"--minutes {config.minutes:g} leaves no time to train after building the data",
            "give tune more minutes",
        )
    target = tuned_dir(index.directory)
    work = Path(tempfile.mkdtemp(prefix=".tuning-", dir=index.directory))
    try:
        data = {"kind": "tune", "index": str(index.directory), "questions": len(questions),
                "train_examples": len(train_ex), "calibration_examples": len(cal_ex),
                "start": str(start), "recipe": asdict(config)}  # fmt: skip
        result = train_adapter(
            base_dir, base_name, train_ex, work, train or TUNE_TRAINING,
            data=data, quiet=quiet, init_adapter=start, max_seconds=left,
        )  # fmt: skip
        for name in EXTRAS:
            if (start / name).is_file():
                shutil.copy2(start / name, work / name)
        registry = AdapterRegistry(base_dir, base_name)
        reader = registry.reader(registry.load(work, name="tuned"))
        calibration = calibrate_for_precision(
            reader, cal_ex, work, target_precision=config.target_precision,
            answerable_share=config.answerable_share, quiet=quiet,
        )  # fmt: skip
        card = read_card(work)
        card["metrics"]["deployment_calibration"] = calibration.to_json()
        write_card(work, card)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TuneResult(target, len(train_ex), len(cal_ex), result.steps, result.seconds, calibration)


def card_summary(card: dict[str, Any]) -> dict[str, Any] | None:
    """The deployment calibration recorded on an adapter's card, if any."""
    return card.get("metrics", {}).get("deployment_calibration")
