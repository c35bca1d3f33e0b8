"""Cross-fitted abstention calibration: every training article also calibrates.

``adapters calibrate`` fits the answer verifier and chooses the threshold on held-out
articles, which then cannot train the reader. With one calibration article (255 questions)
the threshold it chose (F1 66.5 there) gave 64.4 on the test articles, and a verifier input
that every figure on that article preferred gave less still (63.5): one article does not show
how a threshold transfers to others.

Cross-fitting (stacked generalization, Wolpert, "Stacked generalization", 1992; the sample
splitting of Chernozhukov et al., "Double/debiased machine learning", 2018) uses each article
for both. For each of the k training articles a fold adapter is trained on the other k - 1
with the same recipe, its abstention head is fitted on them, and it reads the article it did
not see: out-of-training readings of all k articles. The final adapter is trained on all k;
its head uses the layer and regularization the folds chose most often, and its verifier is
fitted on the pooled readings. Score and threshold are chosen by leave-one-article-out F1 (the
threshold chosen on the other articles' readings, the F1 measured on each article, pooled),
which is how they are used: on an article nobody calibrated on. That figure is recorded on the
card as the estimate for new articles.

The work is split into parts (one per fold, and the final training) that each resume where
they stopped and can run in parallel processes; calibration runs once all parts are done.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ragcore.adapters.abstain_head import HEAD_FILE, AbstainHead, fit_head
from ragcore.adapters.calibration import (
    calibrate_threshold,
    fit_abstain_head,
    head_features,
    operating_point,
    readings,
    score_figures,
)
from ragcore.adapters.decoding import READER_CONFIG_FILE, AbstainScore, ReaderConfig, Reading
from ragcore.adapters.evidence import sentence_relevance
from ragcore.adapters.registry import AdapterRegistry
from ragcore.adapters.training import CARD_FILE, TrainConfig, train_on_articles, write_card
from ragcore.adapters.verifier import (
    FAIL_F1,
    VERIFIER_FILE,
    AnswerVerifier,
    VerifierFeature,
    feature_values,
    fit_verifier,
    out_of_fold,
)
from ragcore.evals.squad import token_f1
from ragcore.evals.squad_data import Article

from ragcore.errors import ConfigError
from ragcore.progress import Progress

PLAN_FILE = "crossfit.json"
READINGS_FILE = "held_out_readings.jsonl"
FINAL_PART = "final"


@dataclass(frozen=True)
class CrossFitConfig:
    """What a cross-fit trains and on which data; saved as ``crossfit.json`` in the folds
    folder, so that resumed parts never mix settings."""

    data_sha256: str
    articles: tuple[str, ...]  # the training articles; fold i holds out article i
    held_out: tuple[str, ...]  # kept out of everything (the test articles)
    train: TrainConfig
    distractor_rate: float = 0.3
    drop_gold_rate: float = 0.08

    def __post_init__(self) -> None:
        object.__setattr__(self, "articles", tuple(self.articles))
        object.__setattr__(self, "held_out", tuple(self.held_out))
        if len(set(self.articles)) < 2:
            raise ConfigError(
                "cross-fitting needs two training articles or more (each fold holds one out)",
                "pass more --article, or hold out fewer articles",
            )
        if set(self.articles) & set(self.held_out):
            raise ConfigError(
                "an article is both trained on and held out", "name it in one of the two lists"
            )
        if FINAL_PART in self.articles:
            raise ConfigError(f"an article is named {FINAL_PART!r}", "rename it in the data")

    @property
    def parts(self) -> list[str]:
        """Every fold (named by the article it holds out), then the final training."""
        return [*self.articles, FINAL_PART]

    def as_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # tuples as lists, as saved

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{PLAN_FILE}.{os.getpid()}.tmp"  # parts may start side by side
        tmp.write_text(json.dumps(self.as_json(), indent=2) + "\n")
        tmp.replace(folder / PLAN_FILE)

    def check_folder(self, folder: Path) -> None:
        """Save this plan in ``folder``, or refuse when the folder holds another plan's
        parts."""
        path = folder / PLAN_FILE
        if path.is_file() and json.loads(path.read_text()) != self.as_json():
            raise ConfigError(
                f"{folder} holds the parts of a cross-fit with other settings or data",
                "pass a new --folds folder, or delete that one to start over",
            )
        self.save(folder)


@dataclass(frozen=True)
class HeldOutReading:
    """A fold adapter's reading of a question from the article it was not trained on."""

    article: str
    id: str
    question: str
    passage: str  # the question's own paragraph, the reader's one passage
    golds: tuple[str, ...]  # empty: unanswerable
    answer: str | None
    cited: int | None
    p_abstain: float
    p_answer: float | None
    p_head: float | None

    @property
    def answerable(self) -> bool:
        return bool(self.golds)

    @property
    def f1(self) -> float:
        return token_f1(self.answer, self.golds) if self.answer else 0.0

    @property
    def reading(self) -> Reading:
        return Reading(self.answer, self.cited, self.p_abstain, self.p_answer, self.p_head)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> HeldOutReading:
        raw = json.loads(line)
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if k == "golds" else v for k, v in raw.items() if k in known})


def part_folder(folds: Path, part: str) -> Path:
    """The folder of fold ``part`` (an article title) under ``folds``."""
    return folds / re.sub(r"[^\w.-]+", "_", part)


def _trained(folder: Path, config: CrossFitConfig, train: Sequence[str]) -> bool:
    card_path = folder / CARD_FILE
    if not (folder / "adapter_model.safetensors").is_file() or not card_path.is_file():
        return False
    card = json.loads(card_path.read_text())
    return card.get("hyperparameters") == config.as_json()["train"] and card.get("data", {}).get(
        "train_articles"
    ) == list(train)


def part_done(config: CrossFitConfig, folds: Path, out: Path, part: str) -> bool:
    if part == FINAL_PART:
        return _trained(out, config, config.articles)
    return (part_folder(folds, part) / READINGS_FILE).is_file()


def run_part(
    part: str,
    config: CrossFitConfig,
    articles: Sequence[Article],
    data_path: Path,
    folds: Path,
    out: Path,
    base: tuple[Path, str],
    *,
    quiet: bool = False,
) -> None:
    """Train (unless already trained with this plan), and for a fold fit its head and read
    its held-out article; a finished part is left as it is."""
    if part not in config.parts:
        raise ConfigError(f"no part named {part!r}", f"parts: {', '.join(config.parts)}")
    if part_done(config, folds, out, part):
        return
    by_title = {a.title: a for a in articles}
    train = [by_title[t] for t in config.articles if t != part]
    folder = out if part == FINAL_PART else part_folder(folds, part)
    if not _trained(folder, config, [a.title for a in train]):
        for stale in (CARD_FILE, HEAD_FILE, VERIFIER_FILE, READER_CONFIG_FILE, READINGS_FILE):
            (folder / stale).unlink(missing_ok=True)  # a previous plan's, or half-done
        held = [part, *config.held_out] if part != FINAL_PART else list(config.held_out)
        train_on_articles(
            *base,
            data_path,
            train,
            held,
            folder,
            config.train,
            distractor_rate=config.distractor_rate,
            drop_gold_rate=config.drop_gold_rate,
            quiet=quiet,
        )
    if part == FINAL_PART:
        return
    registry = AdapterRegistry(*base)
    reader = registry.reader(registry.load(folder), ReaderConfig())
    head, auc = fit_abstain_head(reader, train, [by_title[part]], quiet=quiet)
    head.save(folder)
    reader.head = head
    write_card(folder, {"metrics": {"head": {"layer": head.layer, "l2": head.l2, "auc": auc}}})
    rows = [
        HeldOutReading(
            part,
            ex.id,
            ex.question,
            ex.passages[0][1],
            ex.golds,
            r.answer,
            r.cited,
            r.p_abstain,
            r.p_answer,
            r.p_head,
        )
        for r, ex in readings(reader, [by_title[part]], quiet=quiet)
    ]
    tmp = folder / (READINGS_FILE + ".tmp")
    tmp.write_text("".join(row.to_json() + "\n" for row in rows))
    tmp.rename(folder / READINGS_FILE)  # written last: the part is done


def load_readings(
    config: CrossFitConfig, folds: Path, titles: Sequence[str] | None = None
) -> list[HeldOutReading]:
    """The held-out readings of the folds of ``titles`` (default: every fold), in the plan's
    article order."""
    rows = []
    for title in [t for t in config.articles if titles is None or t in titles]:
        path = part_folder(folds, title) / READINGS_FILE
        rows += [HeldOutReading.from_json(line) for line in path.read_text().splitlines() if line]
    return rows


@dataclass(frozen=True)
class PooledCalibration:
    """The abstention score, threshold and verifier chosen on pooled held-out readings."""

    score: AbstainScore
    threshold: float
    verifier: AnswerVerifier | None
    record: dict[str, Any]  # what the card records


def pooled_calibration(
    rows: Sequence[HeldOutReading],
    relevance: Callable[[str, str], float] = sentence_relevance,
    *,
    quiet: bool = False,
) -> PooledCalibration:
    """Fit the answer verifier on the readings of every article, and choose the score and
    threshold with the best leave-one-article-out F1 (ties: ROC AUC for failed answers).
    Verifier scores are leave-one-article-out too, so its threshold is chosen on articles it
    was not fitted on."""
    groups = [r.article for r in rows]
    k = len(set(groups))
    if k < 2:
        raise ConfigError(
            "pooled calibration needs readings of two articles or more", "cross-fit more articles"
        )
    f1 = [r.f1 for r in rows]
    ok = [r.answerable for r in rows]
    fails = [not a or f < FAIL_F1 for f, a in zip(f1, ok, strict=True)]
    values: dict[AbstainScore, list[float]] = {
        s: [r.reading.abstain_score(s) for r in rows]
        for s in (AbstainScore.P_ABSTAIN, AbstainScore.NULL_VS_SPAN)
    }
    has_head = all(r.p_head is not None for r in rows)
    if has_head:
        values[AbstainScore.HEAD] = [r.reading.abstain_score(AbstainScore.HEAD) for r in rows]
    first = VerifierFeature.HEAD if has_head else VerifierFeature.NULL_VS_SPAN
    features = (first, VerifierFeature.SENTENCE_RELEVANCE)
    verifier, skipped = None, None
    if 0 < sum(fails) < len(fails):
        with Progress(quiet) as progress:
            task = progress.task("answer verifier features", total=len(rows))
            x = []
            for r in rows:
                x.append(feature_values(features, r.reading, r.question, [r.passage], relevance))
                progress.advance(task)
        try:
            oof = out_of_fold(features, x, fails, groups, folds=k)
            verifier = fit_verifier(features, x, fails)
            values[AbstainScore.VERIFIER] = oof
        except ConfigError:  # some articles' questions alone hold one outcome
            skipped = "without some article, every answer failed or none did"
    else:
        skipped = "every answer failed, or none did: nothing to fit the verifier on"
    by_score = {s.value: score_figures(p, f1, ok, groups, folds=k) for s, p in values.items()}
    chosen = AbstainScore(
        max(by_score, key=lambda s: (by_score[s]["cv_f1"], by_score[s]["auc_fails"] or 0.0))
    )
    p = values[chosen]
    threshold, _ = calibrate_threshold(p, f1, ok)
    per_article = {}
    for title in dict.fromkeys(groups):
        idx = [i for i, g in enumerate(groups) if g == title]
        cols = ([p[i] for i in idx], [f1[i] for i in idx], [ok[i] for i in idx])
        per_article[title] = {"questions": len(idx), **operating_point(*cols, threshold)}
    record: dict[str, Any] = {
        "method": "cross-fit",
        "articles": list(dict.fromkeys(groups)),
        "questions": len(rows),
        "score": chosen.value,
        "abstain_threshold": threshold,
        "leave_one_article_out_f1": by_score[chosen.value]["cv_f1"],
        **operating_point(p, f1, ok, threshold),
        "per_article": per_article,
        "scores": by_score,
        "curve": [operating_point(p, f1, ok, t / 20) | {"threshold": t / 20} for t in range(21)],
    }
    if verifier is not None:
        record["verifier"] = {
            "features": [f.value for f in verifier.features],
            "weight": [round(w, 4) for w in verifier.weight],
            "fitted_on": record["articles"],
        }
    else:
        record["verifier"] = {"skipped": skipped}
    return PooledCalibration(chosen, threshold, verifier, record)


def fold_heads(config: CrossFitConfig, folds: Path) -> dict[str, AbstainHead]:
    """The abstention heads the folds have fitted so far (a fold fits its head before it
    reads its article)."""
    heads = {}
    for title in config.articles:
        head = AbstainHead.load(part_folder(folds, title))
        if head is not None:
            heads[title] = head
    return heads


def head_setting(heads: dict[str, AbstainHead], aucs: dict[str, float]) -> tuple[int, float]:
    """The (layer, L2) the folds chose most often; a tie goes to the setting whose folds
    separated their held-out article best (mean ROC AUC)."""
    chosen: dict[tuple[int, float], list[float]] = {}
    for title, head in heads.items():
        chosen.setdefault((head.layer, head.l2), []).append(aucs.get(title, 0.0))
    return max(chosen, key=lambda k: (len(chosen[k]), sum(chosen[k]) / len(chosen[k])))


def finish(
    config: CrossFitConfig,
    articles: Sequence[Article],
    folds: Path,
    out: Path,
    base: tuple[Path, str],
    *,
    relevance: Callable[[str, str], float] = sentence_relevance,
    quiet: bool = False,
    finished_folds_only: bool = False,
) -> dict[str, Any]:
    """Calibrate the final adapter from the folds: its head (on every training article, at
    the layer and L2 the folds chose most often, ``head_setting``), verifier, score and
    threshold; saved beside it, and recorded on its card. Returns the record.

    Every part must be done, unless ``finished_folds_only``: then the folds that have read
    their article calibrate (two or more), and the card names the ones left out."""
    missing = [p for p in config.parts if not part_done(config, folds, out, p)]
    read = [t for t in config.articles if t not in missing]
    if missing and not (finished_folds_only and FINAL_PART not in missing and len(read) >= 2):
        raise ConfigError(
            f"parts not done yet: {', '.join(missing)}",
            "run ragcore adapters crossfit again (or with --part NAME for each); "
            "--calibrate-only calibrates on the folds done so far, once 'final' and two "
            "folds are",
        )
    heads = fold_heads(config, folds)
    if not heads:
        raise ConfigError("no fold has fitted its abstention head", "run the folds' parts")
    aucs = {t: _fold_auc(folds, t) for t in heads}
    layer, l2 = head_setting(heads, aucs)
    # the pooled calibration first: it is quick, and the head's hidden-state pass over every
    # training question is not (minutes on a CPU)
    pooled = pooled_calibration(load_readings(config, folds, read), relevance, quiet=quiet)
    registry = AdapterRegistry(*base)
    reader = registry.reader(registry.load(out), ReaderConfig())
    by_title = {a.title: a for a in articles}
    x, y = head_features(reader, [by_title[t] for t in config.articles], quiet=quiet)
    head = fit_head(x[:, layer], y, layer, l2)
    head.save(out)
    (out / VERIFIER_FILE).unlink(missing_ok=True)
    if pooled.verifier is not None:
        pooled.verifier.save(out)
    ReaderConfig(abstain_threshold=pooled.threshold, score=pooled.score).save(out)
    record = pooled.record | {
        "head": {
            "layer": layer,
            "l2": l2,
            "fitted_on": list(config.articles),
            "folds": {
                t: {"layer": h.layer, "l2": h.l2, "auc": round(aucs[t], 4)}
                for t, h in heads.items()
            },
        },
        "folds_left_out": missing,
    }
    write_card(out, {"metrics": {"calibration": record}, "crossfit": config.as_json()})
    return record


def _fold_auc(folds: Path, title: str) -> float:
    card = json.loads((part_folder(folds, title) / CARD_FILE).read_text())
    return float(card.get("metrics", {}).get("head", {}).get("auc", 0.0))
