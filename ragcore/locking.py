"""One process at a time on an index: an advisory ``flock`` on ``ragcore.lock`` in its folder.

The embedded engine (qdrant-edge) lets one process open a shard, and a second process that
tries anyway can damage it (a search opening the shard during an ingest truncated the ingest's
tracker journal). So the lock is taken before anything under the index folder is opened: a
process that finds it held waits a few seconds (a search or a short sync finishes), then is
refused with the holder named, having touched nothing. On a Qdrant server only writers lock
(the server itself serves many readers). The kernel drops a ``flock`` when its holder dies,
so a killed ingest never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import IO

from ragcore.errors import IndexBusyError, StoreError

LOCK_FILE = "ragcore.lock"
#: how long a process waits for the index before it is refused (long enough for a search)
LOCK_WAIT_S = 10.0
_POLL_S = 0.1


def _command() -> str:
    """``ragcore ingest``: the program and its subcommand (never the arguments, which may hold
    a key or a password)."""
    words = [Path(sys.argv[0]).name] if sys.argv and sys.argv[0] else ["python"]
    words += [a for a in sys.argv[1:2] if not a.startswith("-")]
    return " ".join(words)


class IndexLock:
    """Held from ``acquire`` to ``release`` (or the end of the process)."""

    def __init__(self, directory: Path, wait_s: float = LOCK_WAIT_S) -> None:
        self.path = directory / LOCK_FILE
        self.wait_s = wait_s
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> IndexLock:
        if self._file is not None:
            return self
        handle = self._open()
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    handle.close()
                    raise
                holder = _holder(self.path)
                if holder.get("pid") == os.getpid() or time.monotonic() >= deadline:
                    handle.close()
                    raise _busy(self.path.parent, holder) from None
                time.sleep(_POLL_S)
        with contextlib.suppress(OSError):  # who holds it, for the others' error message
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "command": _command()}))
            handle.flush()
        self._file = handle
        return self

    def _open(self) -> IO[str]:
        try:
            return open(self.path, "a+", encoding="utf-8")  # held until release
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            raise StoreError(
                f"the index at {self.path.parent} is read-only for this user (cannot write "
                f"{LOCK_FILE})",
                "run as a user who may write the folder, or copy the index somewhere writable",
            ) from None

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.truncate(0)
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None

    def __enter__(self) -> IndexLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def _holder(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _busy(directory: Path, holder: dict[str, object]) -> IndexBusyError:
    pid, command = holder.get("pid"), holder.get("command") or "ragcore"
    if pid == os.getpid():
        return IndexBusyError(
            f"the index at {directory} is already open in this process",
            "close the other Index (index.close() or a with block) before opening it again",
        )
    who = f"another process (pid {pid}: {command})" if pid else "another ragcore process"
    return IndexBusyError(
        f"the index at {directory} is in use by {who}; nothing was changed",
        "wait until it finishes and run this again",
    )
