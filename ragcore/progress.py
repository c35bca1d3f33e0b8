"""Progress bars (rich) that can be silenced: ``Progress(quiet=True)`` draws nothing, and
``quiet_libraries`` keeps libraries (their bars, their warnings) out of a command's output."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """While a command runs, the libraries it uses print nothing of their own: no progress
    bars from huggingface_hub or transformers (transformers' "Loading weights", a fraction of
    a second) and no warnings (FutureWarning, DeprecationWarning, UserWarning of torch,
    transformers, peft, ...). Both are back afterwards."""
    with warnings.catch_warnings():
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


def _hub_utils() -> Any:
    try:
        import huggingface_hub.utils
    except ImportError:  # no Hugging Face library to silence
        return None
    return huggingface_hub.utils


class Progress:
    def __init__(self, quiet: bool = False) -> None:
        self._bar: Any = None
        if not quiet:
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

    def task(self, description: str, total: int | None = None) -> Any:
        return self._bar.add_task(description, total=total) if self._bar is not None else None

    def advance(self, task: Any, n: int = 1) -> None:
        if self._bar is not None and task is not None:
            self._bar.advance(task, n)

    def update(self, task: Any, **kwargs: Any) -> None:
        if self._bar is not None and task is not None:
            self._bar.update(task, **kwargs)
