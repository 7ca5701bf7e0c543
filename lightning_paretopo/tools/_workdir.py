"""Host work directories for ``isolation="rlimits"``, and the removal of a killed owner's leftovers.

Contract: every host work dir lives under one root per user, ``<tempdir>/paretopo-sandbox-<euid>``
(mode 0700, refused if it is a link or not ours), and is named ``pysandbox-<owner pid>-<random>``.
``make_workdir()`` creates one for this process; the sandbox removes it after the call.
``remove_leftovers()`` removes those whose owner is no longer alive: a trainer killed with SIGKILL
cannot clean up, so the next sandbox start does it.

Deliberately not done: telling a dead owner from a live process that reused its pid (the
leftover then waits for that process to end), and sharing one root between PID namespaces (a
pid is only meaningful in the namespace of the process that reads it). bubblewrap mode needs
none of this: its work dir is a tmpfs that dies with the sandbox.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

WORKDIR_PREFIX = "pysandbox-"
_OWNED = re.compile(rf"{WORKDIR_PREFIX}(\d+)-.+")


def work_root() -> Path:
    """This user's root of host work dirs, created (mode 0700) if missing.

    Raises:
        RuntimeError: the path is a link, not a directory, someone else's, or open to others.
    """
    root = _root_path()
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700)
    return _checked(root)


def make_workdir() -> str:
    """A fresh, empty work dir for one call, named after this process."""
    return tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=work_root())


def remove_leftovers() -> list[str]:
    """Remove the work dirs (under ``work_root()``) of owners that are gone; returns their paths."""
    root = _root_path()
    if not os.path.lexists(root):
        return []
    removed = []
    for entry in _checked(root).iterdir():
        match = _OWNED.fullmatch(entry.name)
        if match and not _alive(int(match[1])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    return removed


def _root_path() -> Path:
    return Path(tempfile.gettempdir()) / f"paretopo-sandbox-{os.geteuid()}"


def _checked(root: Path) -> Path:
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(
            f"{root}: expected a directory of uid {os.geteuid()} with mode 0700 (the python "
            "sandbox keeps its work dirs there); remove it or point TMPDIR elsewhere."
        )
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but is not ours
        return True
    return True
