"""The ``ragcore`` command line: one module per command family (``index``, ``ask``, ``check``,
``serve``, ``eval``, ``diagnose``, ``reader``, ``adapters``), shared options in ``options``."""

from ragcore.cli.commands import main

__all__ = ["main"]
