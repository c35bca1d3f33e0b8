"""Reader latency on this CPU: time to first token and full answer, p50, for the packaged
SmolLM2-135M-Instruct with 3 passages of about 200 tokens (SQuAD paragraphs).

    python benchmarks/generation_latency.py --squad ../shared/datasets/squad2/dev-articles.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from ragcore.adapters.transformers_generator import SmolLM2
from rich.console import Console
from rich.table import Table

from ragcore import Chunk, Hit
from ragcore.prompting import build_messages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad", required=True)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with open(args.squad) as fh:
        data = json.load(fh)
    articles = data["data"] if isinstance(data, dict) else data
    paragraphs = [p for a in articles for p in a["paragraphs"]]
    gen = SmolLM2(threads=args.threads)
    tok = gen.tokenizer
    ttft, total, n_prompt, n_out = [], [], [], []
    for i in range(args.n + 1):  # the first run warms up and is dropped
        paras = paragraphs[3 * i : 3 * i + 3]
        hits = []
        for n, p in enumerate(paras, start=1):
            ids = tok(p["context"])["input_ids"][:200]
            text = tok.decode(ids)
            hits.append(Hit(Chunk(f"c{n}", f"d{n}", text, 0, len(text)), 1.0, n))
        question = paras[0]["qas"][0]["question"]
        messages = build_messages(question, hits)
        first: list[float] = []
        t0 = time.perf_counter()
        reply = gen.generate(
            messages, args.max_new_tokens, lambda _: first or first.append(time.perf_counter())
        )
        t1 = time.perf_counter()
        if i == 0:
            continue
        ttft.append(1000 * (first[0] - t0) if first else float("nan"))
        total.append(1000 * (t1 - t0))
        n_prompt.append(len(gen._input_ids(messages)[0]))
        n_out.append(len(tok(reply)["input_ids"]))
    table = Table(title=f"SmolLM2-135M base, {args.n} questions, {args.threads} threads (p50)")
    for col in ("prompt tokens", "reply tokens", "first token ms", "full answer ms"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{statistics.median(n_prompt):.0f}",
        f"{statistics.median(n_out):.0f}",
        f"{statistics.median(ttft):.0f}",
        f"{statistics.median(total):.0f}",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
