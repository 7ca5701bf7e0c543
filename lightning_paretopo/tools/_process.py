"""Run one sandbox command: bounded output capture, a wall-clock deadline, and no leftovers.

Contract: ``run_process`` starts ``argv`` in a new session (so its process group id and session
id equal its pid), reads stdout (keeping its head) and stderr (keeping its tail) without ever
holding more than ``max_bytes`` of each, and always ends by SIGKILLing the whole process group
and every process still in that session, before reaping the leader (so the pid cannot be reused in between). Reading stops when the
leader exits (plus a short grace for pipes that orphans keep open) or at the deadline; after the
kill it waits (up to ``_TEARDOWN_S``) for EOF on both pipes, i.e. until every process that
inherited them is gone, so callers never see a half-dead sandbox.

Deliberately not done: following processes that call ``setsid()`` themselves; in bwrap mode the
PID namespace takes care of those, in rlimits mode the seccomp no-fork filter prevents them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

_DRAIN_GRACE_S = 0.2  # after the leader exits, how long orphans may hold the pipes open
_TEARDOWN_S = 2.0  # after the kill, how long to wait for every process to be gone


@dataclass(frozen=True)
class ProcessOutcome:
    """What happened to one sandbox process."""

    returncode: int | None  # None when killed at the deadline
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    elapsed_s: float


def run_process(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str,
    timeout_s: float,
    max_bytes: int,
    pass_fds: tuple[int, ...] = (),
) -> ProcessOutcome:
    """Run ``argv`` to completion or ``timeout_s``; keep at most ``max_bytes`` per stream.

    ``pass_fds`` stay open (at the same numbers) in the child; every other descriptor is closed.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=cwd, start_new_session=True, close_fds=True, pass_fds=pass_fds,
    )  # fmt: skip
    bufs, truncated = [bytearray(), bytearray()], [False, False]
    sel = selectors.DefaultSelector()
    try:
        for i, stream in enumerate((proc.stdout, proc.stderr)):
            sel.register(stream, selectors.EVENT_READ, i)
        timed_out = _pump(proc, sel, start + timeout_s, bufs, truncated, max_bytes)
    finally:
        kill_session(proc.pid)
        # Every sandboxed process holds the pipes, so EOF on both means all of them are gone
        # (under bwrap the PID namespace is torn down asynchronously after bwrap is killed).
        _read(sel, time.monotonic() + _TEARDOWN_S, bufs, truncated, max_bytes)
        sel.close()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()
    return ProcessOutcome(
        returncode=None if timed_out else proc.returncode,
        stdout=bytes(bufs[0]),
        stderr=bytes(bufs[1]),
        stdout_truncated=truncated[0],
        stderr_truncated=truncated[1],
        timed_out=timed_out,
        elapsed_s=time.monotonic() - start,
    )


def _pump(
    proc: subprocess.Popen,
    sel: selectors.BaseSelector,
    deadline: float,
    bufs: list[bytearray],
    truncated: list[bool],
    max_bytes: int,
) -> bool:
    """Read until the leader exits (plus a short grace) or the deadline; True if timed out."""
    while time.monotonic() < deadline:
        if _exited(proc.pid):
            _read(sel, min(time.monotonic() + _DRAIN_GRACE_S, deadline), bufs, truncated, max_bytes)
            return False
        _read(sel, min(time.monotonic() + 0.05, deadline), bufs, truncated, max_bytes)
        if not sel.get_map():  # both pipes closed: only the exit itself is left to wait for
            time.sleep(0.005)
    return not _exited(proc.pid)


def _read(
    sel: selectors.BaseSelector,
    until: float,
    bufs: list[bytearray],
    truncated: list[bool],
    max_bytes: int,
) -> None:
    """Read the pipes until both reach EOF or ``until``: stdout's first and stderr's last
    ``max_bytes`` are kept."""
    while sel.get_map() and (remaining := until - time.monotonic()) > 0:
        for key, _ in sel.select(timeout=remaining):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            buf = bufs[key.data]
            if key.data == 0:  # stdout: keep the head
                room = max(max_bytes - len(buf), 0)
                buf += chunk[:room]
                truncated[0] |= len(chunk) > room
            else:  # stderr: keep the tail, where a traceback ends
                buf += chunk
                if len(buf) > max_bytes:
                    del buf[: len(buf) - max_bytes]
                    truncated[1] = True


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited, without reaping it (WNOWAIT keeps the pid reserved)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def kill_session(sid: int) -> None:
    """SIGKILL the process group ``sid`` and every process whose session id is ``sid``."""
    for _ in range(10):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(sid, signal.SIGKILL)
        members = [pid for pid in session_members(sid) if pid != sid]
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def session_members(sid: int) -> list[int]:
    """Pids (from /proc) of live processes whose session id is ``sid``; zombies excluded."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised comm: state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry))
    return found
