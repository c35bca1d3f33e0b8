"""Progress bars (rich) that can be silenced: ``Progress(quiet=True)`` draws nothing, and
``quiet_libraries`` keeps libraries (their bars, their warnings) out of a command's output."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """While a command runs, the libraries it uses print nothing of their own: no progress
    bars from huggingface_hub or transformers (transformers' "Loading weights", a fraction of
    a second), no log records, and no warnings (FutureWarning, DeprecationWarning,
    UserWarning of torch, transformers, peft, ...). All are back afterwards."""
    with warnings.catch_warnings(), _no_log_records():
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category)
        hub = _hub_utils()  # a 4 ms import (tokenizers needs the package)
        if hub is None or hub.are_progress_bars_disabled():
            yield
            return
        # transformers reads the hub's setting when imported, and keeps its own flag after that
        hub.disable_progress_bars()
        if (logging := sys.modules.get("transformers.utils.logging")) is not None:
            logging.disable_progress_bar()
        try:
            yield
        finally:
            hub.enable_progress_bars()
            if (logging := sys.modules.get("transformers.utils.logging")) is not None:
                logging.enable_progress_bar()


@contextmanager
def _no_log_records() -> Iterator[None]:
    """A library's log records (pypdf's "EOF marker not found" on a corrupt PDF) reach no
    terminal: with a handler on the root logger, logging's last-resort stderr printer is not
    used. The reason a file was skipped is reported by ragcore itself."""
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _hub_utils() -> Any:
    try:
        import huggingface_hub.utils
    except ImportError:  # no Hugging Face library to silence
        return None
    return huggingface_hub.utils


LINE_INTERVAL_S = 5.0  # between progress lines when stderr is not a terminal


class Progress:
    """Bars on a terminal; on a log file or pipe (stderr not a TTY), one plain line every
    ``interval`` seconds and one at the end, so a long ingest under cron or CI shows it is
    alive. Either way it writes to stderr, leaving stdout to the command's result.
    ``report``: instead of drawing, hand the tasks (``{description: (done, total)}``) to it on
    every change (a server's sync job keeps them for its status route)."""

    def __init__(
        self,
        quiet: bool = False,
        interval: float = LINE_INTERVAL_S,
        report: Callable[[dict[str, tuple[int, int | None]]], None] | None = None,
    ) -> None:
        self._bar: Any = None
        self._lines: _Lines | None = None
        if report is not None:
            self._lines = _Lines(0.0, report)
            return
        if quiet:
            return
        if not sys.stderr.isatty():
            self._lines = _Lines(interval, _line_printer())
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
        if self._lines is not None and self._lines.tasks:
            self._lines.emit()

    def task(self, description: str, total: int | None = None) -> Any:
        if self._lines is not None:
            return self._lines.add(description, total)
        return self._bar.add_task(description, total=total) if self._bar is not None else None

    def advance(self, task: Any, n: int = 1) -> None:
        if task is None:
            return
        if self._lines is not None:
            self._lines.tasks[task][1] += n
            self._lines.maybe_emit()
        elif self._bar is not None:
            self._bar.advance(task, n)

    def update(self, task: Any, **kwargs: Any) -> None:
        if task is None:
            return
        if self._lines is not None:
            if "total" in kwargs:
                self._lines.tasks[task][2] = kwargs["total"]
            if "completed" in kwargs:
                self._lines.tasks[task][1] = kwargs["completed"]
            self._lines.maybe_emit()
        elif self._bar is not None:
            self._bar.update(task, **kwargs)


class _Lines:
    """The tasks' counts, handed to ``report`` at most every ``interval`` seconds."""

    def __init__(self, interval: float, report: Callable[[dict[str, Any]], None]) -> None:
        self.interval, self.report = interval, report
        self.tasks: list[list[Any]] = []  # [description, done, total]
        self.last = time.monotonic()

    def add(self, description: str, total: int | None) -> int:
        self.tasks.append([description, 0, total])
        return len(self.tasks) - 1

    def maybe_emit(self) -> None:
        if time.monotonic() - self.last >= self.interval:
            self.emit()

    def emit(self) -> None:
        self.last = time.monotonic()
        self.report({d: (n, t) for d, n, t in self.tasks})


def _line_printer() -> Callable[[dict[str, tuple[int, int | None]]], None]:
    """Prints the tasks as one line on stderr, with the seconds since it was made."""
    start = time.monotonic()

    def print_line(tasks: dict[str, tuple[int, int | None]]) -> None:
        parts = [f"{d} {n}/{t}" if t else f"{d} {n}" for d, (n, t) in tasks.items()]
        seconds = time.monotonic() - start
        print(f"{'; '.join(parts)} ({seconds:.0f} s)", file=sys.stderr, flush=True)

    return print_line
