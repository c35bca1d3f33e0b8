"""Reader recipe sweep, meant for a GPU: train LoRA configurations with the project's recipe
(``ragcore adapters train``), read the validation and held-out articles (gold paragraph), and
report for each configuration

- the held-out SQuAD 2.0 scores at the threshold calibrated on the validation article,
- HasAns F1 when forced to answer (span quality alone),
- how well each abstention score separates unanswerable from answerable questions (ROC AUC),
  and, with ``--probe``, of the abstention head (``adapters.abstain_head``) fitted on the
  training articles, with the held-out F1 when it is the abstention score.

    python benchmarks/reader_sweep.py --data ../shared/datasets/squad2/dev-articles.json \\
        --holdout Normans --holdout Harvard_University --validate 1973_oil_crisis \\
        --out sweep --config '{"name": "r16e4", "rank": 16, "epochs": 4, "batch_size": 16}'
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from ragcore.adapters.abstain_head import roc_auc
from ragcore.adapters.base_model import BASE_NAME, base_model_dir
from ragcore.adapters.calibration import (
    calibrate_threshold,
    fit_abstain_head,
    operating_point,
    readings,
)
from ragcore.adapters.registry import AdapterRegistry
from ragcore.evals.squad import token_f1
from ragcore.evals.squad_data import load_squad, split_articles
from rich.console import Console
from rich.table import Table

from ragcore.cli_adapters import add_adapters_parser, cmd_adapters

TRAIN_FLAGS = ("epochs", "rank", "lr", "batch_size", "grad_accum", "distractor_rate")
TRAIN_FLAGS += ("drop_gold_rate", "seed", "max_examples")


def score_rows(scored: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p_abstain, null_vs_span, span F1, answerable) per question."""
    p = np.array([r.p_abstain for r, _ in scored])
    nvs = np.array([r.abstain_score() for r, _ in scored])
    f1 = np.array([token_f1(r.answer, g) if r.answer else 0.0 for r, g in scored])
    ok = np.array([bool(g) for _, g in scored])
    return p, nvs, f1, ok


def evaluate(name: str, adapter: Path, args: argparse.Namespace, console: Console) -> dict:
    articles = load_squad(args.data)
    train, _ = split_articles(articles, [*args.holdout, args.validate])
    _, (val,) = split_articles(articles, [args.validate])
    _, held = split_articles(articles, args.holdout)
    registry = AdapterRegistry(base_model_dir(), BASE_NAME)
    reader = registry.reader(registry.load(adapter))
    started = time.perf_counter()
    _, _, v_f1, v_ok = score_rows(readings(reader, [val], quiet=True))
    h_p, h_nvs, h_f1, h_ok = score_rows(readings(reader, held, quiet=True))
    read_s = time.perf_counter() - started
    t = reader.config.abstain_threshold
    row: dict[str, Any] = {
        "name": name,
        "threshold": t,
        "held_out": operating_point(h_nvs, h_f1, h_ok, t),
        "forced_hasans_f1": round(100 * h_f1[h_ok].mean(), 2),
        "auc_p_abstain": round(roc_auc(list(h_p), list(~h_ok)), 3),
        "auc_null_vs_span": round(roc_auc(list(h_nvs), list(~h_ok)), 3),
        "read_seconds": round(read_s, 1),
    }
    if args.probe:
        head, val_auc = fit_abstain_head(reader, train, [val], quiet=True)
        reader.head = head
        h_score = [r.p_head for r, _ in readings(reader, held, quiet=True)]
        v_score = [r.p_head for r, _ in readings(reader, [val], quiet=True)]
        thr, _ = calibrate_threshold(v_score, list(v_f1), list(v_ok))
        row["probe"] = {
            "layer": head.layer,
            "l2": head.l2,
            "val_auc": round(val_auc, 3),
            "held_auc": round(roc_auc(h_score, list(~h_ok)), 3),
            "threshold": thr,
            "held_out": operating_point(h_score, list(h_f1), list(h_ok), thr),
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
    ap.add_argument("--probe", action="store_true")
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
        parser = argparse.ArgumentParser()
        add_adapters_parser(parser.add_subparsers(dest="command"))
        started = time.perf_counter()
        cmd_adapters(parser.parse_args(argv))
        train_s = time.perf_counter() - started
        row = evaluate(name, args.out / name, args, console)
        row["train_and_calibrate_seconds"] = round(train_s, 1)
        done(row | {"config": spec})
    table = Table(title="reader sweep (held-out articles, gold paragraph)")
    for col in (
        "adapter",
        "F1",
        "HasAns F1",
        "NoAns",
        "forced HasAns",
        "AUC nvs",
        "probe AUC",
        "probe F1",
    ):
        table.add_column(col)
    for r in rows:
        probe = r.get("probe", {})
        table.add_row(
            r["name"],
            str(r["held_out"]["f1"]),
            str(r["held_out"]["hasans_f1"]),
            str(r["held_out"]["noans_acc"]),
            str(r["forced_hasans_f1"]),
            str(r["auc_null_vs_span"]),
            str(probe.get("held_auc", "-")),
            str(probe.get("held_out", {}).get("f1", "-")),
        )
    console.print(table)


if __name__ == "__main__":
    main()
