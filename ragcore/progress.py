"""Progress bars (rich) that can be silenced: ``Progress(quiet=True)`` draws nothing, and
``quiet_libraries`` keeps libraries (their bars, their warnings) out of a command's output."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

_NO_HUB_BARS = "HF_HUB_DISABLE_PROGRESS_BARS"


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """While a command runs, the libraries it uses print nothing of their own: no progress
    bars from huggingface_hub or transformers (transformers' "Loading weights", a fraction of
    a second) and no warnings (FutureWarning, DeprecationWarning, UserWarning of torch,
    transformers, peft, ...). Both are back afterwards. Nothing is imported for it: a
    library imported meanwhile reads the bars' setting from the environment."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category)
        before = os.environ.get(_NO_HUB_BARS)
        hub = sys.modules.get("huggingface_hub.utils")
        was_off = hub is not None and hub.are_progress_bars_disabled()
        os.environ[_NO_HUB_BARS] = "1"
        _bars(False)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(_NO_HUB_BARS, None)
            else:
                os.environ[_NO_HUB_BARS] = before
            if not was_off and before is None:
                _bars(True)


def _bars(on: bool) -> None:
    """Turn the bars of the Hugging Face libraries already imported on or off (transformers
    reads the hub's setting when imported, and keeps its own flag after that)."""
    if (hub := sys.modules.get("huggingface_hub.utils")) is not None:
        hub.enable_progress_bars() if on else hub.disable_progress_bars()
    if (logging := sys.modules.get("transformers.utils.logging")) is not None:
        logging.enable_progress_bar() if on else logging.disable_progress_bar()


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
