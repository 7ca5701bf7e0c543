"""One run directory, one run: a lock that a crashed run cannot leave stuck.

Contract:
    ``RunLock(run_dir).acquire(command)`` takes an exclusive ``flock`` on ``<run_dir>/run.lock``
    and writes who holds it (pid, host, time, command) into the file. A second process that
    tries the same directory gets ``RunDirInUse`` with that holder in the message, at once (no
    waiting). The kernel drops a ``flock`` when its process dies, however it dies (``kill -9``
    included), so a crashed run never leaves the directory locked; the stale file's contents
    are simply overwritten by the next holder. The lock lives as long as the ``RunLock`` object
    (the CLI keeps it for the whole command) or until ``release()``.

    ``check_fresh_start(checkpoint)`` refuses to start a new ``fit`` in a directory that already
    holds a run's ``last.ckpt``: its files (checkpoint, CSV versions, W&B run, summary) would
    mix with the new run's. The message names the three ways out.

Deliberately not done: no lock on a shared network file system that lacks ``flock`` (local
disks and NFSv4 have it); no waiting for a lock; only rank 0 of a multi-process run locks.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO


class RunDirInUse(RuntimeError):
    """Another live process holds the run directory."""


class RunLock:
    """An exclusive, crash-proof lock on one run directory."""

    FILENAME = "run.lock"

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / self.FILENAME
        self._file: IO[str] | None = None

    def acquire(self, command: str) -> RunLock:
        """Take the lock or raise ``RunDirInUse`` naming the holder."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the run's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown process"
            handle.close()
            raise RunDirInUse(
                f"{self.run_dir} is in use by another run ({holder}). Wait for it to finish, "
                "or give this run its own directory with --run_name NAME or --experiment NAME."
            ) from None
        handle.seek(0)
        handle.truncate()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {stamp}: {command}\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        """Drop the lock (the file stays; its contents are stale once unlocked)."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


def check_fresh_start(run_dir: str | Path, checkpoint: str | Path | None) -> None:
    """Refuse a new fit where an earlier run left ``checkpoint`` (its ``last.ckpt``)."""
    if checkpoint is not None and Path(checkpoint).is_file():
        raise FileExistsError(
            f"{run_dir} already holds a run ({checkpoint}). Resume it with --ckpt_path last; "
            "or start a separate run with --run_name NAME or --experiment NAME; or delete "
            f"{run_dir} to start this one afresh."
        )
