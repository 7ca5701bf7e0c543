"""The bubblewrap command line for one python sandbox call (pure functions, nothing is run).

Contract: ``bwrap_flags(...)`` returns bwrap's options for a call whose work dir ``workdir`` (a
path that exists only inside the sandbox, under its ``/tmp``) receives ``main.py`` from the open
file ``script_fd``. Every writable place is a size-capped tmpfs that lives and dies with the
sandbox's mount namespace: ``/tmp`` (which holds the work dir) and ``/dev/shm``, each at most
``disk_bytes``; ``/dev`` itself is read-only; the rest of ``/`` is a read-only view. So nothing
is ever written to the host's disk, a killed trainer leaves nothing behind, and tmpfs RAM (which
RLIMIT_AS does not count) is bounded by ``2 * disk_bytes`` per call.

Two variants, chosen by the caller's effective uid:

- not root: ``--unshare-all`` (a new user namespace; the code keeps the caller's uid, which is
  not root, so RLIMIT_NPROC applies and counts the tasks of this sandbox only) and
  ``--cap-drop ALL``.
- root (``privileged=True``): no user namespace (inside one, a root caller stays kernel uid 0,
  which RLIMIT_NPROC exempts); new PID/network/IPC/UTS/cgroup namespaces instead, and only
  CAP_SETUID/CAP_SETGID kept, so that the launcher can drop to an unprivileged uid before the
  model's code runs. That uid cannot search e.g. ``/root``, so an interpreter installed under a
  directory closed to others is re-exposed read-only at its own path (``expose_interpreter``).

Deliberately not done: a cap on the number of (empty) files, whose inodes cost kernel memory that
no tmpfs ``size`` counts; the deadline bounds that.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SANDBOX_TMP = "/tmp"  # the sandbox's own /tmp; work dirs are created inside it


def bwrap_flags(
    *, workdir: str, script_fd: int, disk_bytes: int, python: str, privileged: bool
) -> list[str]:
    """Bubblewrap options for one call (see the module docstring)."""
    if not workdir.startswith(f"{SANDBOX_TMP}/"):
        raise ValueError(f"workdir={workdir!r}: must lie under the sandbox's {SANDBOX_TMP}")
    size = str(int(disk_bytes))
    mounts = [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--remount-ro", "/dev",
        "--perms", "01777", "--size", size, "--tmpfs", "/dev/shm",
        "--proc", "/proc",
        "--perms", "01777", "--size", size, "--tmpfs", SANDBOX_TMP,
        "--perms", "01777", "--dir", workdir,
        "--file", str(script_fd), f"{workdir}/main.py",
        *expose_interpreter(python, privileged),
        "--chdir", workdir,
    ]  # fmt: skip
    if privileged:
        namespaces = [
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        ]  # fmt: skip
    else:
        namespaces = ["--unshare-all", "--cap-drop", "ALL"]
    return [*mounts, *namespaces, "--die-with-parent", "--new-session"]


def expose_interpreter(python: str, privileged: bool) -> list[str]:
    """Options that make ``python``'s installation readable inside the sandbox.

    Needed when the installation lies under the sandbox's private ``/tmp`` (which hides it), or,
    for ``privileged`` runs (the code runs as an unprivileged uid), under a directory others
    cannot search, such as ``/root``: that directory is replaced by an empty tmpfs (hiding the
    rest of it, e.g. ``/root/.ssh``), and the installation is bound back read-only at its own
    path, so absolute paths (an ELF RUNPATH to ``libpython``) keep working. The installation
    itself must be readable by others; if not, the bubblewrap probe fails and says so.
    """
    prefix = interpreter_prefix(python)
    closed = _first_closed_ancestor(prefix) if privileged else None
    if prefix.is_relative_to(SANDBOX_TMP):
        hidden = Path(SANDBOX_TMP)  # already a tmpfs: no new mount needed
        flags: list[str] = []
    elif closed is not None:
        hidden = closed
        flags = ["--tmpfs", str(closed)]
    else:
        return []
    for parent in reversed(prefix.parents):
        if parent.is_relative_to(hidden) and parent != hidden:
            flags += ["--perms", "0755", "--dir", str(parent)]
    return [*flags, "--ro-bind", str(prefix), str(prefix)]


def interpreter_prefix(python: str) -> Path:
    """The installation directory of ``python``: the parent of its ``bin/``, else its dir."""
    binary = Path(os.path.realpath(python))
    return binary.parent.parent if binary.parent.name == "bin" else binary.parent


def _first_closed_ancestor(path: Path) -> Path | None:
    """The outermost directory above ``path`` that other users cannot search, if any."""
    for parent in reversed(path.parents):
        if parent == Path("/"):
            continue
        try:
            mode = os.stat(parent).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return parent
    return None
