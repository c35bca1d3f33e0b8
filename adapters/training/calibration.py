"""Calibrating a reader's abstention on held-out articles, or on gold questions over docs.

A ``CalibrationSet`` is what is read: SQuAD 2.0 articles (``squad_set``), or gold questions
asked of a docs index as ``ask`` asks them (``docs_recipe.served_examples``), where the
verifier also weighs the cross-encoder's relevance of the cited passage.

Optionally an abstention head is fitted first (``adapters.abstain_head``: a probe per hidden
layer on the training articles, the layer chosen by ROC AUC on the held-out ones). Every
held-out question is then read once with every abstention score and the constrained span
computed. A score's threshold is chosen by sweeping it over those readings (no re-decoding;
``thresholds``: the peak of the smoothed mean SQuAD 2.0 F1 curve).

The score kept is the one that ranks failed answers best (ROC AUC): it measures
separation at every threshold, while the best F1 of a sweep is an optimistic, noisy maximum on
a few hundred questions. The card also records each score's cross-validated F1 (the threshold
chosen on four fifths of the paragraphs, the F1 measured on the fifth, ``cross_validated_f1``).
The score and threshold are saved in the adapter's ``reader_config.json`` and the held-out
figures in its training card. With a precision target the threshold is instead the one of
most coverage whose answered precision reaches it (``thresholds.precision_target``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from ragcore.adapters.reader.abstain_head import (
    AbstainHead,
    last_token_states,
    select_head,
)
from ragcore.adapters.reader.card import read_card, write_card
from ragcore.adapters.reader.decoding import AbstainScore, Reading
from ragcore.adapters.reader.registry import ReaderGenerator
from ragcore.adapters.reader.tokens import chat_prompt_ids
from ragcore.adapters.reader.verifier import (
    FAIL_F1,
    AnswerVerifier,
    VerifierFeature,
    feature_values,
    fit_verifier,
    out_of_fold,
)
from ragcore.adapters.training.calibration_record import (
    CalibratedOn,
    Calibration,
    HeadRecord,
    PrecisionTarget,
    ScoreFigures,
    VerifierRecord,
)
from ragcore.adapters.training.raft import ReaderExample, gold_examples, serving_examples
from ragcore.adapters.training.thresholds import (
    operating_point,
    precision_curve,
    precision_target,
    score_figures,
    tally,
)
from ragcore.evals.data.squad import Article

from ragcore.answer_match import token_f1
from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.prompting import reader_messages
from ragcore.types import Prompt

T = TypeVar("T")


@dataclass(frozen=True)
class CalibrationSet:
    """The questions a calibration reads: prompts as the reader will be served them, and what
    the record names them by (SQuAD article titles, or gold files over docs)."""

    examples: tuple[ReaderExample, ...]
    names: tuple[str, ...]
    passages: int = 1  # passages per prompt
    on: CalibratedOn = CalibratedOn.SQUAD
    articles: tuple[Article, ...] = ()  # SQuAD's: what an abstention head is chosen on
    # the verifier's inputs past the reader's own evidence and the span's sentence
    extra_features: tuple[VerifierFeature, ...] = ()


def squad_set(
    articles: Sequence[Article], *, passages: int = 1, limit: int | None = None
) -> CalibrationSet:
    """The questions of ``articles`` with their own paragraph, alone (``passages`` 1) or among
    the article's nearest other paragraphs (``serving_examples``)."""
    examples = (
        gold_examples(articles) if passages == 1 else serving_examples(articles, passages=passages)
    )
    examples = examples[:limit] if limit else examples
    names = tuple(a.title for a in articles)
    return CalibrationSet(tuple(examples), names, passages, articles=tuple(articles))


def read_prompts(
    read: Callable[[Prompt], T],
    examples: Sequence[ReaderExample],
    *,
    label: str = "calibrating",
    quiet: bool = False,
) -> list[tuple[T, ReaderExample]]:
    """(what ``read`` makes of the prompt, example) for each example, with a progress bar."""
    out = []
    with Progress(quiet) as progress:
        task = progress.task(label, total=len(examples))
        for ex in examples:
            out.append((read(ex.prompt), ex))
            progress.advance(task)
    return out


def read_examples(
    reader: ReaderGenerator, examples: Sequence[ReaderExample], *, quiet: bool = False
) -> list[tuple[Reading, ReaderExample]]:
    """(reading, example) for each example's prompt."""
    return read_prompts(reader.reading, examples, quiet=quiet)


def readings(
    reader: ReaderGenerator,
    articles: Sequence[Article],
    *,
    limit: int | None = None,
    passages: int = 1,
    quiet: bool = False,
) -> list[tuple[Reading, ReaderExample]]:
    """(reading, example) for each question of ``articles`` (``squad_set``)."""
    chosen = squad_set(articles, passages=passages, limit=limit)
    return read_examples(reader, chosen.examples, quiet=quiet)


def answer_f1(scored: Sequence[tuple[Reading, ReaderExample]]) -> tuple[list[float], list[bool]]:
    """(the decoded span's F1 against the gold answers, whether the question is answerable)
    per reading; a reading without a span scores 0."""
    f1 = [token_f1(r.answer, ex.golds) if r.answer else 0.0 for r, ex in scored]
    return f1, [bool(ex.golds) for _, ex in scored]


def fit_answer_verifier(
    reader: ReaderGenerator,
    scored: Sequence[tuple[Reading, ReaderExample]],
    fails: Sequence[bool],
    groups: Sequence[str],
    *,
    extra: Sequence[VerifierFeature] = (),
    quiet: bool = False,
) -> tuple[AnswerVerifier, list[float]]:
    """The answer verifier fitted on these readings (``fails``: whether answering failed), and
    each reading's out-of-fold P(answering fails) (folds by ``groups``, the readings'
    paragraphs) to choose its threshold on."""
    if len(set(groups)) < 2 or not 0 < sum(fails) < len(fails):
        raise ConfigError(
            "the answer verifier needs two paragraphs or more, and answers that score and "
            "answers that fail among their questions",
            "calibrate on more held-out questions",
        )
    first = VerifierFeature.HEAD if reader.head is not None else VerifierFeature.NULL_VS_SPAN
    features = (first, VerifierFeature.SENTENCE_RELEVANCE, *extra)
    x = []
    with Progress(quiet) as progress:
        task = progress.task("answer verifier features", total=len(scored))
        for r, ex in scored:
            x.append(feature_values(features, r, ex.question, [t for _, t in ex.passages]))
            progress.advance(task)
    return fit_verifier(features, x, fails), out_of_fold(features, x, fails, groups)


def head_features(
    reader: ReaderGenerator, articles: Sequence[Article], *, quiet: bool = False
) -> tuple[Any, Any]:
    """(every layer's hidden state at the last prompt token ``[n, layers + 1, hidden]``,
    whether each question is unanswerable) for the questions of ``articles`` with their own
    paragraphs: what an abstention head is fitted on."""
    import torch

    examples = gold_examples(articles)
    prompts = [chat_prompt_ids(reader.tokenizer, reader_messages(ex.prompt)) for ex in examples]
    with Progress(quiet) as progress:
        task = progress.task("hidden states for the abstention head", total=len(prompts))
        states = reader.run(
            lambda model: last_token_states(
                model, reader.tokenizer, prompts, on_batch=lambda n: progress.advance(task, n)
            )
        )
    return states, torch.tensor([ex.answer is None for ex in examples])


def fit_abstain_head(
    reader: ReaderGenerator,
    train: Sequence[Article],
    held_out: Sequence[Article],
    *,
    quiet: bool = False,
) -> tuple[AbstainHead, float]:
    """Fit the reader's abstention head on ``train`` (every question with its own paragraph),
    choosing layer and regularization by ROC AUC on ``held_out``; returns (head, that AUC)."""
    x_train, y_train = head_features(reader, train, quiet=quiet)
    x_held, y_held = head_features(reader, held_out, quiet=quiet)
    if y_train.all() or not y_train.any() or y_held.all() or not y_held.any():
        raise ConfigError(
            "an abstention head needs answerable and unanswerable questions in both sets",
            "pick other articles",
        )
    return select_head(x_train, y_train, x_held, y_held)


@dataclass(frozen=True)
class _Scored:
    """The readings' figures per score, and the verifier fitted on them."""

    f1: list[float]
    answerable: list[bool]
    values: dict[AbstainScore, list[float]]
    by_score: dict[AbstainScore, ScoreFigures]
    verifier: AnswerVerifier | None
    verifier_skipped: str | None


def _score_readings(
    reader: ReaderGenerator, chosen: CalibrationSet, *, verifier: bool, quiet: bool
) -> _Scored:
    scored = read_examples(reader, chosen.examples, quiet=quiet)
    f1, ok = answer_f1(scored)
    fails = [not good or score < FAIL_F1 for score, good in zip(f1, ok, strict=True)]
    groups = [ex.paragraph for _, ex in scored]
    read_scores = [AbstainScore.P_ABSTAIN, AbstainScore.NULL_VS_SPAN]
    if reader.head is not None:
        read_scores.append(AbstainScore.HEAD)
    values = {s: [r.abstain_score(s) for r, _ in scored] for s in read_scores}
    fitted, skipped = None, None
    if verifier:
        try:
            fitted, values[AbstainScore.VERIFIER] = fit_answer_verifier(
                reader, scored, fails, groups, extra=chosen.extra_features, quiet=quiet
            )
        except ConfigError as exc:  # too few questions or paragraphs to fit and fold it
            skipped = exc.message
    by_score = {s: score_figures(p, f1, ok, groups) for s, p in values.items()}
    return _Scored(f1, ok, values, by_score, fitted, skipped)


def _head(
    reader: ReaderGenerator,
    adapter_dir: Path,
    chosen: CalibrationSet,
    head_articles: Sequence[Article],
    quiet: bool,
) -> tuple[AbstainHead | None, HeadRecord | None]:
    """The abstention head to calibrate with: fitted (and saved) on ``head_articles`` when
    given, else the reader's own, with its record."""
    if head_articles and not chosen.articles:
        raise ConfigError(
            "an abstention head is fitted on SQuAD articles and chosen on held-out ones",
            "fit it with --data/--article first, then calibrate on your gold questions",
        )
    overlap = {a.title for a in head_articles} & set(chosen.names)
    if overlap:
        raise ConfigError(
            f"{', '.join(sorted(overlap))} would both fit the abstention head and calibrate it",
            "fit the head on the training articles and calibrate on held-out ones",
        )
    if head_articles:
        head, auc = fit_abstain_head(reader, head_articles, chosen.articles, quiet=quiet)
        head.save(adapter_dir)
        return head, HeadRecord(
            head.layer, head.l2, tuple(a.title for a in head_articles), round(auc, 4)
        )
    if reader.head is None:
        return None, None
    earlier = read_card(adapter_dir).get("metrics", {}).get("calibration", {}).get("head")
    record = (
        HeadRecord.from_json(earlier) if earlier else HeadRecord(reader.head.layer, reader.head.l2)
    )
    return reader.head, record


def calibrate_adapter(
    reader: ReaderGenerator,
    adapter_dir: Path,
    chosen: CalibrationSet,
    *,
    head_articles: Sequence[Article] = (),
    verifier: bool = True,
    target: PrecisionTarget | None = None,
    quiet: bool = False,
) -> Calibration:
    """Fit the abstention head (when ``head_articles`` are given) and the answer verifier
    (unless ``verifier`` is False) on ``chosen``'s readings, choose the abstention score and
    threshold, and save them beside the adapter (``reader_config.json``, the training card).
    ``reader`` is left as it was: the readings use a copy with the new head. ``target``: the
    threshold of most coverage that reaches this answered precision instead of the F1 peak
    (which is kept, and the record says so, when no threshold reaches it)."""
    head, head_record = _head(reader, adapter_dir, chosen, head_articles, quiet)
    reading = reader.derived(head=head, verifier=None)
    result = _score_readings(reading, chosen, verifier=verifier, quiet=quiet)
    score = max(result.by_score, key=lambda s: result.by_score[s].rank())
    p, f1, ok = result.values[score], result.f1, result.answerable
    threshold = result.by_score[score].threshold
    target_record = None if target is None else precision_target(p, f1, ok, target)
    if target_record is not None and (chosen_point := target_record.chosen) is not None:
        threshold = chosen_point.threshold
    verifier_record = None
    if result.verifier is not None:
        result.verifier.save(adapter_dir)
        verifier_record = VerifierRecord(
            tuple(f.value for f in result.verifier.features),
            tuple(round(w, 4) for w in result.verifier.weight),
            chosen.names,
        )
    elif result.verifier_skipped is not None:
        verifier_record = VerifierRecord(skipped=result.verifier_skipped)
    calibration = Calibration(
        score=score,
        point=operating_point(p, f1, ok, threshold),
        scores=result.by_score,
        articles=chosen.names,
        questions=len(p),
        passages=chosen.passages,
        on=chosen.on,
        curve=tuple(operating_point(p, f1, ok, t / 20) for t in range(21)),
        head=head_record,
        verifier=verifier_record,
        target=target_record,
        precision_curve=precision_curve(
            p, f1, ok, None if target is None else target.answerable_share
        ),
        served=tally(p, f1, ok, threshold),
    )
    replace(reader.config, abstain_threshold=threshold, score=score).save(adapter_dir)
    write_card(adapter_dir, {"metrics": {"calibration": calibration.to_json()}})
    return calibration
