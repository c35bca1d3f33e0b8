"""Bridge to ragas (extra ``ragcore[ragas]``): turn scored answers or retrieval runs into ragas
samples and run its metrics.

The default metrics need no model and make no network call: ID-based context precision and
recall, non-LLM (string-distance) context precision and recall, exact match, string presence
and non-LLM string similarity. ``RAGAS_DO_NOT_TRACK`` is set to ``true`` before ragas is
imported unless the caller set it. LLM-judged metrics (faithfulness, answer accuracy, ...) run
only with a judge the caller supplies: ``openai_compatible_judge`` wraps any OpenAI-compatible
endpoint, or pass any ragas LLM. A 135M model is no judge: its verdicts are noise.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from ragcore.evals.generation_eval import GenerationExample

from ragcore.errors import ConfigError
from ragcore.types import Answer, Hit

ABSTAIN_TEXT = "I don't know."


class RagasMetric(StrEnum):
    """ragas metrics the bridge can run; the first seven need no model."""

    ID_CONTEXT_PRECISION = "id_based_context_precision"
    ID_CONTEXT_RECALL = "id_based_context_recall"
    CONTEXT_PRECISION = "non_llm_context_precision_with_reference"
    CONTEXT_RECALL = "non_llm_context_recall"
    EXACT_MATCH = "exact_match"
    STRING_PRESENT = "string_present"
    STRING_SIMILARITY = "non_llm_string_similarity"
    FAITHFULNESS = "faithfulness"  # needs a judge
    ANSWER_ACCURACY = "nv_accuracy"  # needs a judge

    @property
    def needs_judge(self) -> bool:
        return self in (RagasMetric.FAITHFULNESS, RagasMetric.ANSWER_ACCURACY)


OFFLINE_METRICS = tuple(m for m in RagasMetric if not m.needs_judge)


def _ragas() -> Any:
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    try:
        import ragas
    except ImportError:
        raise ConfigError(
            "ragas is not installed", "pip install 'ragcore[ragas]' (ragas 0.4.3)"
        ) from None
    return ragas


def _context_id(hit: Hit, evidence_ids: frozenset[str]) -> str:
    """The id of ``hit`` at the level the gold evidence is given (chunk, document, BEIR)."""
    chunk = hit.chunk
    for candidate in (chunk.id, chunk.doc_id, str(chunk.metadata.get("beir_id", ""))):
        if candidate in evidence_ids:
            return candidate
    return chunk.id


def answer_samples(examples: Sequence[GenerationExample], answers: Sequence[Answer]) -> list[Any]:
    """One ragas ``SingleTurnSample`` per (example, answer); an abstention becomes the
    response ``ABSTAIN_TEXT`` and an unanswerable question the reference ``ABSTAIN_TEXT``."""
    ragas = _ragas()
    samples = []
    for ex, ans in zip(examples, answers, strict=True):
        samples.append(
            ragas.SingleTurnSample(
                user_input=ex.question,
                retrieved_contexts=[h.chunk.text for h in ans.hits],
                retrieved_context_ids=[_context_id(h, ex.evidence_ids) for h in ans.hits],
                reference_contexts=list(ex.contexts) or None,
                reference_context_ids=sorted(ex.evidence_ids) or None,
                response=ans.text if ans.text is not None else ABSTAIN_TEXT,
                reference=ex.answers[0] if ex.answerable else ABSTAIN_TEXT,
            )
        )
    return samples


def run_samples(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, float]],
    queries: Mapping[str, str],
    k: int = 10,
) -> list[Any]:
    """Samples from a retrieval run (query id -> ranked doc ids) for the ID-based metrics."""
    ragas = _ragas()
    return [
        ragas.SingleTurnSample(
            user_input=queries.get(q, q),
            retrieved_context_ids=list(run.get(q, ()))[:k],
            reference_context_ids=[d for d, rel in sorted(rels.items()) if rel > 0],
        )
        for q, rels in sorted(qrels.items())
    ]


def _metric(metric: RagasMetric) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics._context_precision import (
            IDBasedContextPrecision,
            NonLLMContextPrecisionWithReference,
        )
        from ragas.metrics._context_recall import IDBasedContextRecall, NonLLMContextRecall
        from ragas.metrics._faithfulness import Faithfulness
        from ragas.metrics._nv_metrics import AnswerAccuracy
        from ragas.metrics._string import ExactMatch, NonLLMStringSimilarity, StringPresence
    return {
        RagasMetric.ID_CONTEXT_PRECISION: IDBasedContextPrecision,
        RagasMetric.ID_CONTEXT_RECALL: IDBasedContextRecall,
        RagasMetric.CONTEXT_PRECISION: NonLLMContextPrecisionWithReference,
        RagasMetric.CONTEXT_RECALL: NonLLMContextRecall,
        RagasMetric.EXACT_MATCH: ExactMatch,
        RagasMetric.STRING_PRESENT: StringPresence,
        RagasMetric.STRING_SIMILARITY: NonLLMStringSimilarity,
        RagasMetric.FAITHFULNESS: Faithfulness,
        RagasMetric.ANSWER_ACCURACY: AnswerAccuracy,
    }[metric]()


def check_judge(base_url: str, model: str, api_key: str = "unused", timeout: float = 60) -> None:
    """One chat request to the judge, so that a wrong URL, model or key is an error naming
    it before any metric runs (ragas would turn every failed call into a silent NaN)."""
    import json
    import urllib.error
    import urllib.request

    body = {"model": model, "messages": [{"role": "user", "content": "Reply OK."}],
            "max_tokens": 4, "temperature": 0}  # fmt: skip
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            json.load(response)["choices"][0]["message"]
    except urllib.error.HTTPError as exc:
        raise ConfigError(
            f"the judge at {base_url} answered HTTP {exc.code} for model {model!r}",
            "check --judge-url (an OpenAI-compatible /v1 base URL), --judge-model and the key "
            "in $RAGCORE_JUDGE_API_KEY",
        ) from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(
            f"cannot use the judge at {base_url}: {exc}",
            "start the judge server or fix --judge-url (e.g. http://127.0.0.1:8000/v1)",
        ) from None


def openai_compatible_judge(base_url: str, model: str, api_key: str = "unused") -> Any:
    """A ragas LLM over an OpenAI-compatible endpoint the user runs (vLLM, llama.cpp server,
    Ollama, a hosted API, ``ragcore serve``). Use a capable model: small ones give
    meaningless verdicts."""
    _ragas()
    from langchain_openai import ChatOpenAI
    from ragas.llms import LangchainLLMWrapper

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return LangchainLLMWrapper(
            ChatOpenAI(base_url=base_url, model=model, api_key=api_key, temperature=0)
        )


def run_ragas(
    samples: Sequence[Any],
    metrics: Sequence[RagasMetric | str] = OFFLINE_METRICS,
    judge: Any = None,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Run ragas metrics; ``{"metrics": {name: mean}, "per_sample": {name: [score, ...]},
    "unscored": {name: count}}``.

    A metric whose inputs a sample lacks (e.g. no gold ids) scores NaN there and is left out of
    the mean, as in ragas. With a judge, a verdict ragas cannot parse also scores NaN (a small
    judge writes many), and ``unscored`` counts them per metric."""
    ragas = _ragas()
    chosen = [RagasMetric(m) for m in metrics]
    if judge is None and (needs := [m.value for m in chosen if m.needs_judge]):
        raise ConfigError(
            f"{', '.join(needs)} need an LLM judge",
            "pass judge=openai_compatible_judge(URL, MODEL) or drop them; offline metrics: "
            + ", ".join(m.value for m in OFFLINE_METRICS),
        )
    per_sample: dict[str, list[float]] = {}
    for metric in chosen:
        mask = [_has_inputs(s, metric) for s in samples]
        usable = [s for s, ok in zip(samples, mask, strict=True) if ok]
        scores = iter(
            ragas.evaluate(
                ragas.EvaluationDataset(usable),
                metrics=[_metric(metric)],
                llm=judge,
                show_progress=show_progress,
                raise_exceptions=not metric.needs_judge,
            )[metric.value]
            if usable
            else []
        )
        per_sample[metric.value] = [float(next(scores)) if ok else math.nan for ok in mask]
    means, unscored = {}, {}
    for metric in chosen:
        values = per_sample[metric.value]
        kept = [v for v in values if not math.isnan(v)]
        means[metric.value] = sum(kept) / len(kept) if kept else None
        if metric.needs_judge:
            usable = sum(_has_inputs(s, metric) for s in samples)
            unscored[metric.value] = usable - len(kept)
    return {"metrics": means, "per_sample": per_sample, "unscored": unscored}


_NEEDS: dict[RagasMetric, tuple[str, ...]] = {
    RagasMetric.ID_CONTEXT_PRECISION: ("retrieved_context_ids", "reference_context_ids"),
    RagasMetric.ID_CONTEXT_RECALL: ("retrieved_context_ids", "reference_context_ids"),
    RagasMetric.CONTEXT_PRECISION: ("retrieved_contexts", "reference_contexts"),
    RagasMetric.CONTEXT_RECALL: ("retrieved_contexts", "reference_contexts"),
    RagasMetric.EXACT_MATCH: ("response", "reference"),
    RagasMetric.STRING_PRESENT: ("response", "reference"),
    RagasMetric.STRING_SIMILARITY: ("response", "reference"),
    RagasMetric.FAITHFULNESS: ("user_input", "response", "retrieved_contexts"),
    RagasMetric.ANSWER_ACCURACY: ("user_input", "response", "reference"),
}


def _has_inputs(sample: Any, metric: RagasMetric) -> bool:
    return all(getattr(sample, f, None) for f in _NEEDS[metric])
