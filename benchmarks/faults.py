"""Fault trials for ingestion and the index: kill -9 at random points, processes side by side,
and hostile inputs. Run by hand; each prints a table and a total.

    python benchmarks/faults.py kills --trials 30 --seed 1
    python benchmarks/faults.py concurrency --trials 10 --seed 1
    python benchmarks/faults.py inputs

A kill trial starts from the bundled demo docs (twice over, 20 files): either a first ingest,
or a re-sync after edits, deletions and additions. It kills the ingest at a random moment,
sometimes edits the source again, re-runs the ingest, and compares the index with a fresh
build of the final source, chunk for chunk (id, source, text, groups), and runs ``check``.
A concurrency trial runs an ingest while searches loop beside it and a second ingest and a
``--rebuild`` try their luck; the ingest must finish and equal a fresh build, the others
must answer or be refused (exit 3) without a traceback.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ragcore import Index

RAGCORE = str(Path(sys.executable).parent / "ragcore")
DEMO = Path(str(files("ragcore") / "demo_docs"))
out = Console()


def ragcore(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAGCORE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def snapshot(directory: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    with Index.open(directory) as index:
        return sorted(
            (c.id, c.source, c.text, tuple(c.metadata.get("access", ()))) for c in index.chunks()
        )


def edit(src: Path, rng: random.Random, n: int) -> None:
    """Change, delete and add ``n`` files each."""
    present = sorted(src.rglob("*.*"))
    for path in rng.sample(present, min(n, len(present))):
        if path.suffix in (".md", ".txt"):
            path.write_text(path.read_text() + f"\n\nEdited {rng.random()}.\n")
    for path in rng.sample(sorted(src.rglob("*.*")), n):
        path.unlink()
    for i in range(n):
        (src / f"new-{rng.randrange(10**6)}-{i}.md").write_text(
            f"# Added page {i}\n\nThe added page says {rng.random()}.\n"
        )


class Work:
    """A source and its index at fixed paths (chunk ids depend on the path), reset per trial
    from a baseline built once."""

    def __init__(self, root: Path) -> None:
        self.root, self.src, self.idx = root, root / "src", root / "idx"
        self.base_src, self.base_idx = root / "base-src", root / "base-idx"
        for i in range(2):
            shutil.copytree(DEMO, self.base_src / f"copy{i}")
        shutil.copytree(self.base_src, self.src)
        done = ragcore("ingest", str(self.src), "--index", str(self.idx), "--access", "staff",
                       "-q", cwd=root)  # fmt: skip
        assert done.returncode == 0, done.stderr
        shutil.move(self.idx, self.base_idx)
        shutil.rmtree(self.src)

    def reset(self, with_index: bool) -> None:
        for path in (self.src, self.idx, self.root / "fresh"):
            shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(self.base_src, self.src)
        if with_index:
            shutil.copytree(self.base_idx, self.idx)

    def ingest(self) -> list[str]:
        return [RAGCORE, "ingest", str(self.src), "--index", str(self.idx), "--access", "staff",
                "-q"]  # fmt: skip

    def converged(self) -> tuple[bool, str]:
        fresh = self.root / "fresh"
        done = ragcore("ingest", str(self.src), "--index", str(fresh), "--access", "staff", "-q",
                       cwd=self.root)  # fmt: skip
        assert done.returncode == 0, done.stderr
        same = snapshot(self.idx) == snapshot(fresh)
        check = ragcore("check", "--index", str(self.idx), cwd=self.root)
        return same and check.returncode == 0, "ok" if check.returncode == 0 else "damaged"


def kills(args: argparse.Namespace, work: Work) -> None:
    rng = random.Random(args.seed)
    table = Table(title=f"kill -9 trials (seed {args.seed})")
    for col in ("trial", "kind", "killed at s", "edited after", "re-run rc", "converged", "check"):
        table.add_column(col)
    ok = 0
    for trial in range(args.trials):
        kind = rng.choice(["first", "resync"])
        work.reset(with_index=kind == "resync")
        if kind == "resync":
            edit(work.src, rng, rng.randint(1, 3))
        at = rng.uniform(0.0, 7.0 if kind == "first" else 4.0)
        proc = subprocess.Popen(work.ingest(), cwd=work.root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        edited = kind == "resync" and rng.random() < 0.5
        if edited:
            edit(work.src, rng, 1)
        rerun = subprocess.run(work.ingest(), cwd=work.root, capture_output=True, text=True)
        same, check = work.converged()
        ok += same and rerun.returncode == 0
        table.add_row(str(trial), kind, f"{at:.2f}", str(edited), str(rerun.returncode),
                      str(same), check)  # fmt: skip
    out.print(table)
    out.print(f"kill trials: {args.trials}, converged: {ok} (seed {args.seed})")


def concurrency(args: argparse.Namespace, work: Work) -> None:
    rng = random.Random(args.seed)
    (work.root / "ragcore.toml").write_text("[store]\nlock_wait_s = 1\n")
    table = Table(title=f"concurrency trials (seed {args.seed})")
    for col in ("trial", "others", "answered", "refused", "other", "ingest rc", "consistent"):
        table.add_column(col)
    good = 0
    try:
        for trial in range(args.trials):
            work.reset(with_index=True)
            edit(work.src, rng, rng.randint(2, 4))
            proc = subprocess.Popen(work.ingest(), cwd=work.root, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)  # fmt: skip
            others = []
            while proc.poll() is None:
                roll = rng.random()
                argv = (
                    ["ingest", str(work.src), "--index", str(work.idx), "--rebuild", "-q"]
                    if roll < 0.1
                    else ["ingest", str(work.src), "--index", str(work.idx), "-q"]
                    if roll < 0.2
                    else ["search", "admin port", "--index", str(work.idx), "--group", "staff"]
                )
                others.append(ragcore(*argv, cwd=work.root))
            proc.communicate()
            answered = sum(p.returncode == 0 for p in others)
            refused = sum(p.returncode == 3 and "Traceback" not in p.stderr for p in others)
            other = len(others) - answered - refused
            same, _ = work.converged()
            good += same and proc.returncode == 0 and other == 0
            table.add_row(str(trial), str(len(others)), str(answered), str(refused), str(other),
                          str(proc.returncode), str(same))  # fmt: skip
    finally:
        (work.root / "ragcore.toml").unlink()
    out.print(table)
    out.print(f"concurrency trials: {args.trials}, completed and consistent: {good}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["kills", "concurrency", "inputs"])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragcore-faults-") as tmp:
        t0 = time.perf_counter()
        if args.mode == "inputs":
            from faults_inputs import inputs  # beside this script

            inputs(Path(tmp))
        else:
            work = Work(Path(tmp))
            (kills if args.mode == "kills" else concurrency)(args, work)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out.print(f"{time.perf_counter() - t0:.0f} s; peak RSS of a child process {peak:.0f} MB")


if __name__ == "__main__":
    main()
