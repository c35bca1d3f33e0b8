"""Reader recipe sweep, meant for a GPU: train LoRA configurations with the project's recipe
(``ragcore adapters train --validate``, which also fits the abstention head and calibrates
every abstention score on the validation article), read the held-out articles once (gold
paragraph), and report for each configuration

- the held-out SQuAD 2.0 scores of each abstention score at its calibrated threshold (the
  one the adapter chose is the headline),
- HasAns F1 when forced to answer (span quality alone),
- how well each score separates unanswerable from answerable questions (ROC AUC).

    python benchmarks/reader_sweep.py --data ../shared/datasets/squad2/dev-articles.json \\
        --holdout Normans --holdout Harvard_University --validate 1973_oil_crisis \\
        --out sweep --config '{"name": "r16e4", "rank": 16, "epochs": 4, "batch_size": 16}'
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ragcore.adapters.reader.abstain_head import roc_auc
from ragcore.adapters.reader.base_model import BASE_NAME, base_model_dir
from ragcore.adapters.reader.card import read_card
from ragcore.adapters.reader.decoding import AbstainScore
from ragcore.adapters.reader.registry import AdapterRegistry
from ragcore.adapters.training.calibration import answer_f1, readings
from ragcore.adapters.training.thresholds import operating_point
from ragcore.evals.data.squad import load_squad, split_articles
from rich.console import Console
from rich.table import Table

TRAIN_FLAGS = ("epochs", "rank", "lr", "batch_size", "grad_accum", "distractor_rate")
TRAIN_FLAGS += ("drop_gold_rate", "seed", "max_examples")


def evaluate(name: str, adapter: Path, args: argparse.Namespace, console: Console) -> dict:
    """Read the held-out articles once; score every abstention score the adapter has at the
    threshold calibrated for it (from its training card) and by ROC AUC."""
    _, held = split_articles(load_squad(args.data), args.holdout)
    registry = AdapterRegistry(base_model_dir(), BASE_NAME)
    reader = registry.reader(registry.load(adapter))
    started = time.perf_counter()
    scored = readings(reader, held, quiet=True)
    read_s = time.perf_counter() - started
    f1, ok = answer_f1(scored)
    unanswerable = [not a for a in ok]
    calibrated = read_card(adapter).get("metrics", {}).get("calibration", {}).get("scores", {})
    thresholds = {s: v["threshold"] for s, v in calibrated.items()}
    thresholds[reader.config.score.value] = reader.config.abstain_threshold
    by_score = {}
    for score in AbstainScore:
        if (score is AbstainScore.HEAD and reader.head is None) or (
            score is AbstainScore.VERIFIER and reader.verifier is None
        ):
            continue
        values = [r.abstain_score(score) for r, _ in scored]
        by_score[score.value] = {"auc": round(roc_auc(values, unanswerable), 3)}
        if score.value in thresholds:
            t = thresholds[score.value]
            by_score[score.value] |= asdict(operating_point(values, f1, ok, t))
    has = [v for v, a in zip(f1, ok, strict=True) if a]
    row = {
        "name": name,
        "score": reader.config.score.value,
        "held_out": by_score[reader.config.score.value],
        "scores": by_score,
        "forced_hasans_f1": round(100 * sum(has) / len(has), 2),
        "read_seconds": round(read_s, 1),
    }
    console.print_json(json.dumps(row))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--holdout", action="append", required=True)
    ap.add_argument("--validate", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--config", action="append", default=[], help="JSON: name + train flags")
    ap.add_argument("--evaluate", action="append", default=[], type=Path, help="adapter folders")
    ap.add_argument("--results", type=Path, help="append each row here as JSON lines")
    args = ap.parse_args()
    console = Console()
    rows = []

    def done(row: dict) -> None:
        rows.append(row)
        if args.results:
            with open(args.results, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    for folder in args.evaluate:
        done(evaluate(folder.name, folder, args, console))
    for raw in args.config:
        spec = json.loads(raw)
        name = spec.pop("name")
        argv = ["adapters", "train", "--data", str(args.data), "--out", str(args.out / name)]
        for title in args.holdout:
            argv += ["--holdout", title]
        argv += ["--validate", args.validate, "--quiet"]
        for key, value in spec.items():
            if key not in TRAIN_FLAGS:
                raise SystemExit(f"unknown train flag {key}; known: {TRAIN_FLAGS}")
            argv += [f"--{key.replace('_', '-')}", str(value)]
        started = time.perf_counter()  # the command itself, in its own process
        subprocess.run([sys.executable, "-m", "ragcore.cli", *argv], check=True)
        train_s = time.perf_counter() - started
        row = evaluate(name, args.out / name, args, console)
        row["train_and_calibrate_seconds"] = round(train_s, 1)
        done(row | {"config": spec})
    table = Table(title="reader sweep (held-out articles, gold paragraph)")
    for col in ("adapter", "score", "F1", "HasAns F1", "NoAns", "forced HasAns", "AUC by score"):
        table.add_column(col)
    for r in rows:
        held = r["held_out"]
        aucs = ", ".join(f"{k} {v['auc']}" for k, v in r["scores"].items())
        table.add_row(
            r["name"],
            r["score"],
            str(held.get("f1", "-")),
            str(held.get("hasans_f1", "-")),
            str(held.get("noans_acc", "-")),
            str(r["forced_hasans_f1"]),
            aucs,
        )
    console.print(table)


if __name__ == "__main__":
    main()
