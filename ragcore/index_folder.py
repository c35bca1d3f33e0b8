"""What an index folder holds, and how to tell an index, an interrupted first ingest and a
folder that is neither apart (before anything in it is opened)."""

from __future__ import annotations

import json
import shutil
from enum import StrEnum
from pathlib import Path

from ragcore.config import CONFIG_FILE
from ragcore.errors import ConfigError, IncompatibleIndexError, IndexNotFoundError
from ragcore.locking import LOCK_FILE
from ragcore.plugins import DEFAULT_ADAPTER
from ragcore.sources import SourceSpec

LEDGER_FILE = "ledger.sqlite"
OWN_FILES = ("shard", LEDGER_FILE, LEDGER_FILE + "-wal", LEDGER_FILE + "-shm")
# the reader adapter `ragcore adapters tune` trained on this index's documents
TUNED_ADAPTER = Path("adapters") / "tuned"
# a newer tuned adapter that lost to the span reader, kept aside while the one above serves
TUNED_NOT_SERVING = Path("adapters") / "tuned-not-serving"
TUNED_CARD = "training_card.json"


class ServingReader(StrEnum):
    """The reader ``adapters tune`` found better on the index's held-out pages, recorded in
    the tuned adapter's card (``metrics.reader_choice.chosen``)."""

    TUNED = "tuned"
    SPAN_READER = "span-reader"


def tuned_adapter(directory: Path, where: Path = TUNED_ADAPTER) -> Path | None:
    """The index's tuned reader adapter (or the one kept aside, ``TUNED_NOT_SERVING``), when
    ``adapters tune`` has written one."""
    path = directory / where
    return path if (path / "adapter_config.json").is_file() else None


def tuned_choice(adapter: Path) -> ServingReader | None:
    """What the tuned adapter's card says reads better (None: not compared, an earlier tune)."""
    card = adapter / TUNED_CARD
    if not card.is_file():
        return None
    try:
        chosen = json.loads(card.read_text()).get("metrics", {}).get("reader_choice", {})
        return ServingReader(chosen["chosen"]) if "chosen" in chosen else None
    except (ValueError, AttributeError, TypeError):
        raise ConfigError(
            f"{card} is not a training card that names the reader serving the index",
            f"run ragcore adapters tune again, or delete {adapter}",
        ) from None


def serving_tuned_adapter(directory: Path) -> Path | None:
    """The tuned adapter when readers over the index default to it: written, and not found
    worse than the span reader on the held-out pages."""
    tuned = tuned_adapter(directory)
    if tuned is None or tuned_choice(tuned) is ServingReader.SPAN_READER:
        return None
    return tuned


def reader_adapter(directory: Path, adapter: str | None) -> str | None:
    """The adapter a reader over this index loads: ``adapter`` as asked, except that the
    default (None or "default") is the index's tuned adapter when it serves
    (``serving_tuned_adapter``)."""
    if adapter not in (None, DEFAULT_ADAPTER):
        return adapter
    tuned = serving_tuned_adapter(directory)
    return adapter if tuned is None else str(tuned)


def spec_json(spec: SourceSpec) -> str:
    """What ``repair`` needs to open the source again (local paths made absolute; the groups
    are remembered on their own)."""
    uri = str(Path(spec.uri).resolve()) if Path(spec.uri).exists() else spec.uri
    return json.dumps({"uri": uri, "connector": spec.connector, "options": dict(spec.options)})


def check_folder(directory: Path, create: bool) -> None:
    """Refuse, before anything is written, a path that cannot be or become an index."""
    if directory.exists() and not directory.is_dir():
        raise IncompatibleIndexError(
            f"{directory} is a file, not an index directory",
            "pass the index folder with --index (default .ragcore)",
        )
    if (directory / CONFIG_FILE).exists():
        return
    names = {p.name for p in directory.iterdir()} - {LOCK_FILE} if directory.is_dir() else set()
    if names and not names <= set(OWN_FILES):
        raise IncompatibleIndexError(
            f"{directory} exists and is not a ragcore index (no {CONFIG_FILE})",
            "choose an empty or new --index directory",
        )
    if not create:
        raise IndexNotFoundError(
            f"no index at {directory}",
            f"run `ragcore ingest PATH --index {directory}` first",
        )


def interrupted_creation(directory: Path) -> bool:
    """A folder holding only what a first ingest writes before its config (``shard/``, the
    ledger), as a kill in the first second leaves it."""
    if not directory.is_dir() or (directory / CONFIG_FILE).exists():
        return False
    names = {p.name for p in directory.iterdir()} - {LOCK_FILE}
    return bool(names) and names <= set(OWN_FILES)


def remove_own_files(directory: Path) -> None:
    for name in OWN_FILES:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
