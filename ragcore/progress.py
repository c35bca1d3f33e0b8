"""Progress bars (rich) that can be silenced: ``Progress(quiet=True)`` draws nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Any


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
