"""Eval reports for people who would rather look than read: an HTML page (plots inlined) or a
markdown file (plots beside it) from one or more ``ragcore eval retrieval --json`` results.

Plots (matplotlib, extra ``ragcore[report]``): mean recall@k curves per run, and a per-query
scatter of two runs on one metric, with wins and losses counted.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragcore.evals.retrieval_eval import compare_runs

from ragcore.errors import ConfigError

SYNTHETIC_NOTE = (
    "Synthetic test set: questions were generated from the indexed documents, so these "
    "scores are a proxy for real users' questions (they favour lexical matching)."
)


def _runs(results: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Flatten ``(label, result)`` into ``(label:mode, run)``; the label is dropped when
    there is one result."""
    flat = []
    for label, result in results:
        for mode, run in result["runs"].items():
            flat.append((mode if len(results) == 1 else f"{label}:{mode}", run))
    return flat


def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("matplotlib is not installed", "pip install 'ragcore[report]'") from None
    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def recall_curve_png(runs: list[tuple[str, dict[str, Any]]]) -> bytes | None:
    plt = _matplotlib()
    curves = [(name, run["recall_curve"]) for name, run in runs if run.get("recall_curve")]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves:
        ks = sorted(curve, key=int)
        ax.plot([int(k) for k in ks], [curve[k] for k in ks], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("k (log scale)")
    ax.set_ylabel("mean recall@k")
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend()
    data = _png(fig)
    plt.close(fig)
    return data


def scatter_png(a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]], metric: str) -> bytes:
    plt = _matplotlib()
    pa, pb = a[1]["per_query"][metric], b[1]["per_query"][metric]
    shared = sorted(set(pa) & set(pb))
    xs, ys = [pa[q] for q in shared], [pb[q] for q in shared]
    wins = sum(y > x for x, y in zip(xs, ys, strict=True))
    losses = sum(y < x for x, y in zip(xs, ys, strict=True))
    counts = Counter((round(x, 4), round(y, 4)) for x, y in zip(xs, ys, strict=True))
    points = sorted(counts)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(
        [p[0] for p in points],
        [p[1] for p in points],
        s=[12 * counts[p] ** 0.5 for p in points],  # area grows with the queries at a point
        alpha=0.5,
    )
    ax.plot([0, 1], [0, 1], color="grey", linewidth=1)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{a[0]} {metric}")
    ax.set_ylabel(f"{b[0]} {metric}")
    ax.set_title(
        f"per query: {b[0]} better on {wins}, worse on {losses}, tied {len(xs) - wins - losses}"
    )
    data = _png(fig)
    plt.close(fig)
    return data


def _table(runs: list[tuple[str, dict[str, Any]]], metrics: list[str]) -> list[list[str]]:
    rows = [["run", *metrics]]
    for name, run in runs:
        cells = []
        for m in metrics:
            mean, ci = run["metrics"].get(m), run.get("ci95", {}).get(m)
            cells.append(
                ""
                if mean is None
                else f"{mean:.4f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            )
        rows.append([name, *cells])
    return rows


def build_report(
    results: Sequence[tuple[str, dict[str, Any]]],
    out: Path,
    metric: str | None = None,
    pair: tuple[str, str] | None = None,
) -> Path:
    """Write ``out`` (``.html`` self-contained, or ``.md`` with PNGs in ``out.stem``-files/).

    ``metric`` is the scatter's (default ndcg@10, or the first computed metric).
    ``pair`` names the two runs of the scatter (``label:mode`` when several results are
    given); by default the first two runs."""
    if out.suffix not in (".html", ".md"):
        raise ConfigError(f"cannot write a report to {out}", "name it *.html or *.md")
    runs = _runs(results)
    if not runs:
        raise ConfigError(
            "the results hold no runs", "pass --json outputs of ragcore eval retrieval"
        )
    names = [n for n, _ in runs]
    if metric is None:
        computed = list(runs[0][1]["per_query"])
        metric = "ndcg@10" if "ndcg@10" in computed else computed[0]
    if metric not in runs[0][1]["per_query"]:
        raise ConfigError(
            f"metric {metric} was not computed", f"pick one of {', '.join(runs[0][1]['metrics'])}"
        )
    shown = [
        m for m in runs[0][1]["metrics"] if m.split("@")[0] in ("ndcg", "recall", "mrr", "map")
    ]
    images: list[tuple[str, bytes]] = []
    if (curve := recall_curve_png(runs)) is not None:
        images.append(("Mean recall@k", curve))
    comparison: list[list[str]] = []
    if len(runs) >= 2:
        first, second = pair or (names[0], names[1])
        for n in (first, second):
            if n not in names:
                raise ConfigError(f"no run named {n!r}", f"pick from {', '.join(names)}")
        a, b = runs[names.index(first)], runs[names.index(second)]
        images.append((f"Per-query {metric}: {b[0]} against {a[0]}", scatter_png(a, b, metric)))
        tests = compare_runs({"runs": {"a": a[1]}}, {"runs": {"b": b[1]}}, "a", "b")
        comparison = [["metric", a[0], b[0], "delta", "p (paired randomization)"]] + [
            [
                m,
                f"{t['mean_a']:.4f}",
                f"{t['mean_b']:.4f}",
                f"{t['delta']:+.4f}",
                f"{t['p_value']:.4f}",
            ]
            for m, t in tests.items()
            if m in shown
        ]
    head = results[0][1]
    title = f"ragcore eval: {head['dataset']} / {head['split']} ({head['n_queries']} queries)"
    notes = [SYNTHETIC_NOTE] if any(r.get("synthetic") for _, r in results) else []
    tables = [("Mean with 95% bootstrap CI", _table(runs, shown))]
    if comparison:
        tables.append(("Paired comparison", comparison))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".html":
        out.write_text(_html(title, notes, tables, images))
    else:
        out.write_text(_markdown(title, notes, tables, images, out))
    return out


def _html(
    title: str,
    notes: list[str],
    tables: list[tuple[str, list[list[str]]]],
    images: list[tuple[str, bytes]],
) -> str:
    e = html.escape
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:right}td:first-child{text-align:left}.note{background:#fff3cd;padding:8px}"
        "</style>",
        f"<h1>{e(title)}</h1>",
    ]
    parts += [f"<p class='note'>{e(n)}</p>" for n in notes]
    for caption, rows in tables:
        parts.append(f"<h2>{e(caption)}</h2><table>")
        parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in rows[0]) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows[1:]]
        parts.append("</table>")
    for caption, png in images:
        b64 = base64.b64encode(png).decode()
        parts.append(
            f"<h2>{e(caption)}</h2><img alt='{e(caption)}' src='data:image/png;base64,{b64}'>"
        )
    return "\n".join(parts) + "\n"


def _markdown(
    title: str,
    notes: list[str],
    tables: list[tuple[str, list[list[str]]]],
    images: list[tuple[str, bytes]],
    out: Path,
) -> str:
    lines = [f"# {title}", ""]
    lines += [f"> {n}\n" for n in notes]
    for caption, rows in tables:
        lines += [f"## {caption}", "", "| " + " | ".join(rows[0]) + " |"]
        lines.append("| " + " | ".join(["---"] * len(rows[0])) + " |")
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        lines.append("")
    folder = out.with_name(f"{out.stem}-files")
    folder.mkdir(exist_ok=True)
    for i, (caption, png) in enumerate(images, start=1):
        path = folder / f"plot{i}.png"
        path.write_bytes(png)
        lines += [f"## {caption}", "", f"![{caption}]({folder.name}/{path.name})", ""]
    return "\n".join(lines)


def precision_coverage_png(curve: Sequence[dict[str, Any]], target: float) -> bytes | None:
    """Answered precision against coverage over abstention thresholds, the target dashed."""
    points = [p for p in curve if p["precision"] is not None]
    if not points:
        return None
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p["coverage"] for p in points], [p["precision"] for p in points], marker=".")
    ax.axhline(target, linestyle="--", color="grey", label=f"target precision {target:.0%}")
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("answered precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    png = _png(fig)
    plt.close(fig)
    return png


def build_diagnose_report(result: dict[str, Any], out: Path) -> Path:
    """The ``ragcore eval diagnose`` section: per-rung figures, outcomes, ladder gaps, the
    precision-coverage curve and the questions that went wrong."""
    if out.suffix not in (".html", ".md"):
        raise ConfigError(f"cannot write a report to {out}", "name it *.html or *.md")
    s = result["summary"]

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    rungs = [
        [
            "rung",
            "answerable right %",
            "unanswerable abstained %",
            "answered precision %",
            "answered %",
            "answer in passages %",
        ]
    ]
    rungs += [
        [
            name,
            *(
                pct(r[k])
                for k in (
                    "answerable_correct",
                    "unanswerable_abstained",
                    "answered_precision",
                    "answered",
                    "answer_in_passages",
                )
            ),
        ]
        for name, r in s["rungs"].items()
    ]
    outcomes = [["outcome", "questions"], *([k, str(v)] for k, v in s["outcomes"].items())]
    gaps = [["ladder gap", "answerable questions"], *([k, str(v)] for k, v in s["gaps"].items())]
    failed = [["id", "outcome", "gap", "question", "gold", "reply"]] + [
        [
            q["id"],
            q["outcome"],
            q["gap"],
            q["question"],
            " | ".join(q["answers"]),
            q["rungs"]["retrieved"]["answer"] or "(abstained)",
        ]
        for q in result["questions"]
        if q["outcome"] not in ("correct", "correct_abstention")
    ]
    tables = [("Per rung", rungs), ("Outcomes", outcomes), ("Ladder", gaps)]
    if len(failed) > 1:
        tables.append(("Questions that went wrong", failed))
    images = []
    if (png := precision_coverage_png(s["curve"], result.get("target_precision", 0.9))) is not None:
        images.append(("Precision against coverage (abstention threshold swept)", png))
    title = f"ragcore eval diagnose: {result.get('gold', '')} ({s['n']} questions)"
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".html":
        out.write_text(_html(title, [], tables, images))
    else:
        out.write_text(_markdown(title, [], tables, images, out))
    return out
