"""Reader latency on this CPU: time to first token and full answer, p50, with 3 passages of
about 200 tokens (SQuAD paragraphs), for the packaged SmolLM2-135M-Instruct three ways: the
bare base (free greedy generation), the base with the shipped adapter loaded through peft
(calibrated abstention + span-constrained decoding), and the same adapter merged into the
weights, run by transformers and by the plain-torch forward the shipped reader uses.

    python benchmarks/generation_latency.py --squad ../shared/datasets/squad2/dev-articles.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from ragcore.adapters.reader.base_model import BASE_NAME, base_model_dir
from ragcore.adapters.reader.merged import merged_reader
from ragcore.adapters.reader.registry import DEFAULT_ADAPTER, AdapterRegistry, merge_adapter
from ragcore.adapters.transformers_generator import TransformersGenerator, transformers_model
from rich.console import Console
from rich.table import Table

from ragcore import Chunk, Hit
from ragcore.prompting import reader_messages
from ragcore.types import Prompt


def cases(squad: str, tokenizer: Any, n: int) -> list[Prompt]:
    with open(squad) as fh:
        articles = json.load(fh)["data"]
    paragraphs = [p for a in articles for p in a["paragraphs"]]
    out = []
    for i in range(n + 1):  # the first one warms up and is dropped
        paras = paragraphs[3 * i : 3 * i + 3]
        hits = []
        for k, p in enumerate(paras, start=1):
            text = tokenizer.decode(tokenizer(p["context"])["input_ids"][:200])
            hits.append(Hit(Chunk(f"c{k}", f"d{k}", text, 0, len(text)), 1.0, k))
        out.append(Prompt.from_hits(paras[0]["qas"][0]["question"], hits))
    return out


def measure(gen: Any, prompts: list, max_new_tokens: int) -> dict[str, float]:
    ttft, total, abstained = [], [], 0
    for i, prompt in enumerate(prompts):
        first: list[float] = []

        def mark(_: str, first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter())

        t0 = time.perf_counter()
        reply = gen.answer(prompt, max_new_tokens, mark)
        t1 = time.perf_counter()
        if i == 0:
            continue
        abstained += reply.abstained
        ttft.append(1000 * (first[0] - t0) if first else float("nan"))
        total.append(1000 * (t1 - t0))
    return {
        "ttft": statistics.median(ttft),
        "total": statistics.median(total),
        "abstained": abstained,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad", required=True)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--adapter", default=DEFAULT_ADAPTER)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base = TransformersGenerator(base_model_dir(), name=BASE_NAME)
    prompts = cases(args.squad, base.tokenizer, args.n)
    prompt = statistics.median(len(base._input_ids(reader_messages(p))[0]) for p in prompts)
    rows = [("base, free greedy", measure(base, prompts, args.max_new_tokens))]
    registry = AdapterRegistry(base_model_dir(), BASE_NAME)
    reader = registry.reader(registry.load(args.adapter))
    rows.append((f"base + {args.adapter} (peft)", measure(reader, prompts, 24)))
    with tempfile.TemporaryDirectory() as tmp:
        merged = transformers_model(merge_adapter(base_model_dir(), args.adapter, Path(tmp)))
        rows.append((f"{args.adapter} merged, transformers", measure(merged, prompts, 24)))
    shipped = merged_reader(base_model_dir(), BASE_NAME, args.adapter)  # adapters.reader.llama
    rows.append((f"{args.adapter} merged, plain torch (shipped)", measure(shipped, prompts, 24)))
    table = Table(
        title=f"SmolLM2-135M reader, {args.n} questions, prompt p50 {prompt:.0f} tokens, "
        f"{args.threads} threads (p50)"
    )
    for col in ("generator", "first token ms", "full answer ms", "abstained"):
        table.add_column(col, justify="right")
    for name, r in rows:
        table.add_row(name, f"{r['ttft']:.0f}", f"{r['total']:.0f}", f"{r['abstained']}/{args.n}")
    Console().print(table)


if __name__ == "__main__":
    main()
