"""``ragcore eval``: retrieval evaluation runs and run comparisons (wires ``ragcore.evals``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ragcore.cli.options import err, index_build, new_index_config, out
from ragcore.errors import ConfigError


def add_eval_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="evaluate retrieval on a BEIR-layout dataset, compare runs")
    ev = p.add_subparsers(dest="eval_command", required=True)

    r = ev.add_parser("retrieval", help="index DATASET_DIR once, run modes, score them")
    r.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv")
    r.add_argument("--split", default="test")
    r.add_argument("--mode", action="append", help="bm25|dense|hybrid[+rerank]; repeatable")
    r.add_argument("--k", default="10,100", help="cut-offs, e.g. 10,100")
    r.add_argument("--json", type=Path, help="write the full result (per-query scores) here")
    r.add_argument("--trec-dir", type=Path, help="write TREC run files here")
    r.add_argument("--report", type=Path, help="write an HTML (.html) or markdown (.md) report")
    r.add_argument("--cache", type=Path, default=Path(".ragcore-eval"), help="index cache dir")
    r.add_argument(
        "--index",
        type=Path,
        help="score this existing index instead of indexing corpus.jsonl (synthetic test sets)",
    )
    index_build(r, " of the index built")
    r.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if a mode's mean is below, e.g. ndcg@10=0.6; repeatable",
    )
    r.add_argument(
        "--no-cache", action="store_true", help="search again even if this run is cached"
    )
    r.add_argument("--quiet", "-q", action="store_true")

    c = ev.add_parser("compare", help="metric deltas between two eval JSON files, with p-values")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--mode", help="mode to compare (default: each mode present in both)")
    c.add_argument("--json", action="store_true")

    sy = ev.add_parser(
        "synthesize", help="generate (question, gold document) pairs from an index's documents"
    )
    sy.add_argument("--index", type=Path, required=True, help="the index to draw passages from")
    sy.add_argument("--out", type=Path, required=True, help="test-set folder to write")
    sy.add_argument("--n", type=int, default=200, help="number of questions")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--per-document", type=int, default=3, help="at most this many per doc")
    sy.add_argument("--generator", default="template", help="a ragcore.question_generators plugin")

    an = ev.add_parser(
        "answers", help="score generated answers (EM/F1, abstention, citation grounding)"
    )
    an.add_argument("gold", type=Path, help='JSON lines {"id","question","answers","evidence_ids"}')
    an.add_argument(
        "answers", type=Path, help="JSON lines of Answer.to_json() (ragcore ask --json), with id"
    )
    an.add_argument("--json", type=Path, help="write scores (per question too) here")
    an.add_argument("--ragas", action="store_true", help="add ragas' offline metrics")
    an.add_argument(
        "--judge-url",
        help="OpenAI-compatible /v1 base URL of an LLM judge: adds ragas faithfulness and "
        "answer accuracy (key: $RAGCORE_JUDGE_API_KEY); needs --ragas",
    )
    an.add_argument("--judge-model", help="the judge's model name (default: ragcore)")
    an.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE")

    rp = ev.add_parser("report", help="HTML/markdown report with plots from eval JSON files")
    rp.add_argument("results", type=Path, nargs="+", help="--json outputs of eval retrieval")
    rp.add_argument("--out", type=Path, required=True, help="report.html or report.md")
    rp.add_argument("--metric", help="metric of the per-query scatter (default ndcg@10)")
    rp.add_argument(
        "--pair", nargs=2, metavar=("A", "B"), help="the two runs of the scatter (mode names)"
    )

    from ragcore.cli.diagnose import add_diagnose_parser
    from ragcore.cli.reader import add_reader_parser

    add_reader_parser(ev)
    add_diagnose_parser(ev)


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ConfigError(
            f"bad --k {text!r}", "use comma-separated integers, e.g. 10,100"
        ) from None
    if not ks or ks[0] < 1:
        raise ConfigError(f"bad --k {text!r}", "cut-offs must be >= 1")
    return ks


def _check_thresholds(items: list[str], generation: bool = False) -> None:
    from ragcore.evals.generation_eval import METRICS as GENERATION_METRICS
    from ragcore.evals.metrics import parse_metric

    for item in items:
        name, sep, value = item.partition("=")
        try:
            if generation and name not in GENERATION_METRICS:
                raise ConfigError(
                    f"unknown metric {name!r} in --fail-under {item!r}",
                    f"use one of {', '.join(GENERATION_METRICS)}",
                )
            if not generation:
                parse_metric(name)
            float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"bad --fail-under {item!r}", "use METRIC=VALUE, e.g. ndcg@10=0.6")


def _load_result(path: Path) -> dict[str, Any]:
    try:
        result = json.loads(path.read_text())
        result["runs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"cannot read eval results from {path}: {exc!r}",
            "pass --json outputs of `ragcore eval retrieval`",
        ) from None
    return result


def _report(args: argparse.Namespace) -> int:
    from ragcore.evals.report import build_report

    results = [(p.stem, _load_result(p)) for p in args.results]
    path = build_report(results, args.out, args.metric, tuple(args.pair) if args.pair else None)
    out.print(f"report written to {path}")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from ragcore import Index
    from ragcore.evals.data.synthesis import synthesize, write_testset
    from ragcore.plugins import PluginGroup, load

    if args.n < 1:
        raise ConfigError(f"bad --n {args.n}", "ask for at least one question")
    generator = load(PluginGroup.QUESTION_GENERATORS, args.generator)()
    with Index.open(args.index) as index:
        questions = synthesize(index.chunks(), generator, args.n, args.seed, args.per_document)
    if not questions:
        raise ConfigError(
            f"no question could be generated from {args.index}",
            "the index holds no sentence the generator can ask about; ingest more text",
        )
    write_testset(args.out, questions)
    out.print(
        f"wrote {len(questions)} synthetic questions to {args.out} "
        f"(generator {generator.name}); score them with:\n"
        f"  ragcore eval retrieval {args.out} --split synthetic --index {args.index}"
    )
    if len(questions) < args.n:
        err.print(f"[yellow]note:[/] asked for {args.n}, the documents gave {len(questions)}")
    return 0


def _read_answers(path: Path, ids: list[str]) -> list[Any]:
    """Answers matched to gold ids by their ``id`` field, or by line order without one."""
    from ragcore.types import Answer

    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        by_id = {str(r["id"]): Answer.from_json(r) for r in rows if "id" in r}
        if by_id:
            missing = [i for i in ids if i not in by_id]
            if missing:
                raise ConfigError(
                    f"{len(missing)} gold questions have no answer in {path} (e.g. {missing[0]})",
                    "answer every gold question, or drop it from the gold file",
                )
            return [by_id[i] for i in ids]
        if len(rows) != len(ids):
            raise ConfigError(
                f"{path} has {len(rows)} answers for {len(ids)} gold questions",
                'give each answer line the "id" of its gold question',
            )
        return [Answer.from_json(r) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"cannot read answers from {path}: {exc!r}",
            "write one Answer JSON per line (ragcore ask --json output) with an id field",
        ) from None


def _ragas_scores(args: argparse.Namespace, examples: list, answers: list) -> dict[str, Any]:
    """ragas' offline metrics, and the judged ones when a judge is given."""
    import os

    from ragcore.evals.ragas_bridge import (
        OFFLINE_METRICS,
        RagasMetric,
        answer_samples,
        check_judge,
        openai_compatible_judge,
        run_ragas,
    )

    samples = answer_samples(examples, answers)
    if not args.judge_url:
        return run_ragas(samples)
    model = args.judge_model or "ragcore"
    key = os.environ.get("RAGCORE_JUDGE_API_KEY", "unused")
    check_judge(args.judge_url, model, key)
    judge = openai_compatible_judge(args.judge_url, model, key)
    judged = (RagasMetric.FAITHFULNESS, RagasMetric.ANSWER_ACCURACY)
    return run_ragas(samples, (*OFFLINE_METRICS, *judged), judge) | {"judge": model}


def _answers(args: argparse.Namespace) -> int:
    from ragcore.evals.generation_eval import load_examples, score_answers

    _check_thresholds(args.fail_under, generation=True)
    examples = load_examples(args.gold)
    answers = _read_answers(args.answers, [e.id for e in examples])
    result = score_answers(examples, answers)
    if args.judge_url and not args.ragas:
        raise ConfigError("--judge-url scores ragas metrics", "add --ragas")
    if args.ragas:
        result["ragas"] = _ragas_scores(args, examples, answers)
    t = Table(
        title=f"{args.answers.name}: {result['n']} questions, {result['n_answerable']} answerable"
    )
    for col in ("metric", "mean", "95% CI"):
        t.add_column(col, justify="right")
    for name, value in result["metrics"].items():
        ci = result["ci95"].get(name)
        t.add_row(
            name,
            "n/a" if value is None else f"{value:.4f}",
            f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "",
        )
    ragas = result.get("ragas", {})
    for name, value in ragas.get("metrics", {}).items():
        t.add_row(f"ragas {name}", "n/a" if value is None else f"{value:.4f}", "")
    out.print(t)
    if unscored := {k: v for k, v in ragas.get("unscored", {}).items() if v}:
        counts = ", ".join(f"{k} {v}" for k, v in unscored.items())
        err.print(f"judge {ragas['judge']}: verdicts ragas could not read (left out): {counts}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    failures = []
    for item in args.fail_under:
        name, _, value = item.partition("=")
        got = result["metrics"].get(name)
        if got is None or got < float(value):
            failures.append(f"{name} = {got} < {float(value)}")
    for f in failures:
        err.print(f"[bold red]below threshold:[/] {f}")
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.eval_command == "compare":
        return _compare(args)
    if args.eval_command == "report":
        return _report(args)
    if args.eval_command == "synthesize":
        return _synthesize(args)
    if args.eval_command == "answers":
        return _answers(args)
    if args.eval_command == "reader":
        from ragcore.cli.reader import cmd_reader

        return cmd_reader(args)
    if args.eval_command == "diagnose":
        from ragcore.cli.diagnose import cmd_diagnose

        return cmd_diagnose(args)
    from ragcore.evals.retrieval_eval import run_retrieval_eval, threshold_failures

    ks = _ks(args.k)
    _check_thresholds(args.fail_under)
    modes = args.mode or ["bm25", "dense", "hybrid"]
    from ragcore.config import SearchConfig

    for m in modes:
        SearchConfig.parse_mode(m)
    result = run_retrieval_eval(
        args.dataset,
        args.split,
        modes,
        ks,
        args.cache,
        args.trec_dir,
        config=new_index_config(args),
        quiet=args.quiet,
        use_cache=not args.no_cache,
        index_dir=args.index,
    )
    if result["synthetic"]:
        from ragcore.evals.report import SYNTHETIC_NOTE

        err.print(f"[yellow]note:[/] {SYNTHETIC_NOTE}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    shown = [f"{m}@{k}" for k in ks for m in ("ndcg", "recall", "mrr")] + [f"map@{ks[-1]}"]
    t = Table(
        title=f"{result['dataset']} / {result['split']}: {result['n_queries']} queries "
        "(mean, 95% bootstrap CI)"
    )
    t.add_column("mode")
    for m in shown:
        t.add_column(m, justify="right")
    for mode, run in result["runs"].items():
        t.add_row(
            mode,
            *(
                f"{run['metrics'][m]:.4f} [{run['ci95'][m][0]:.3f}, {run['ci95'][m][1]:.3f}]"
                for m in shown
            ),
        )
    out.print(t)
    idx = result["index"]
    out.print(
        f"index {'reused from cache' if idx['cached'] else 'built'}: {idx['path']} "
        f"({idx['seconds']:.1f}s); total {result['seconds']:.1f}s"
    )
    reused = [m for m, r in result["runs"].items() if r["run_cached"]]
    if reused:
        out.print(f"runs reused from cache: {', '.join(reused)} (--no-cache to search again)")
    if args.report:
        from ragcore.evals.report import build_report

        out.print(f"report written to {build_report([(result['dataset'], result)], args.report)}")
    failures = threshold_failures(result, args.fail_under)
    for f in failures:
        err.print(f"[bold red]below threshold:[/] {f}")
    return 1 if failures else 0


def _compare(args: argparse.Namespace) -> int:
    from ragcore.evals.retrieval_eval import compare_runs

    a, b = _load_result(args.a), _load_result(args.b)
    pairs = [(args.mode, args.mode)] if args.mode else [(m, m) for m in a["runs"] if m in b["runs"]]
    if not pairs and len(a["runs"]) == 1 and len(b["runs"]) == 1:
        pairs = [(next(iter(a["runs"])), next(iter(b["runs"])))]
    if not pairs:
        raise ConfigError("the two files share no mode", "pick one with --mode")
    result = {f"{ma} vs {mb}": compare_runs(a, b, ma, mb) for ma, mb in pairs}
    if args.json:
        out.print_json(json.dumps(result))
        return 0
    for name, metrics in result.items():
        t = Table(title=f"{args.a.name} -> {args.b.name}: {name}")
        for col in ("metric", "A", "B", "delta", "p (randomization)", "p (Holm)"):
            t.add_column(col, justify="right")
        for metric, r in metrics.items():
            mark = " *" if r["p_holm"] < 0.05 else ""
            t.add_row(
                metric,
                f"{r['mean_a']:.4f}",
                f"{r['mean_b']:.4f}",
                f"{r['delta']:+.4f}",
                f"{r['p_value']:.4f}",
                f"{r['p_holm']:.4f}{mark}",
            )
        out.print(t)
        out.print(
            f"p (Holm): adjusted for the {len(metrics)} metrics tested together (Holm 1979); "
            "* marks p (Holm) < 0.05"
        )
    return 0
