"""``PythonSandbox``: the "python" tool. Runs model-written code in a contained subprocess.

Contract: ``PythonSandbox(...)(code) -> ToolResult`` never raises on any ``code``. ``text`` is the
program's stdout; on failure the tail of stderr (the traceback's last lines) or a timeout note is
appended. Error kinds: ``"empty_code"``, ``"timeout"``, ``"nonzero_exit"`` (also for death by a
signal, e.g. the CPU limit), ``"sandbox_error"`` (the sandbox itself failed to start) and
``"output_truncated"`` (with ``ok=True``: the program succeeded but printed more than
``max_output_chars``; the head is kept).

Deliberately not done: persistent state between calls (each call is a fresh interpreter in a
fresh directory), third-party packages (the interpreter runs with ``-I -S``: stdlib only), and
cgroup-based accounting (bubblewrap's tmpfs sizes, a per-call uid and rlimits bound the call
without needing a writable cgroup tree).
"""

from __future__ import annotations

import logging
import math
import os
import resource
import signal
import sys

from lightning_paretopo.tools._isolation import (
    resolve_isolation,
    run_bwrap,
    run_rlimits,
    seccomp_supported,
)
from lightning_paretopo.tools._launcher import SETUP_FAILED
from lightning_paretopo.tools._process import ProcessOutcome
from lightning_paretopo.tools._workdir import remove_leftovers
from lightning_paretopo.tools.base import ToolResult

logger = logging.getLogger(__name__)
_STDERR_TAIL_CHARS = 800
_TRUNCATION_MARK = "\n... [output truncated]"
# Descriptors per process: plenty for Python, and a bound on what fds pin in kernel memory
# (socket and pipe buffers) beyond RLIMIT_AS.
MAX_OPEN_FILES = 256
_MIB = 1024 * 1024


class PythonSandbox:
    """Run untrusted Python in a subprocess with a deadline, rlimits and bubblewrap.

    Both modes: a fresh work dir per call (cwd, ``HOME`` and ``TMPDIR``); ``python -I -S -u``
    (no site-packages, no ``PYTHON*`` variables, no user site); a scrubbed environment
    (``PATH``, ``LANG``, ``HOME``, ``TMPDIR``, ``OMP_NUM_THREADS`` only, so secrets in the
    caller's environment are not inherited); stdin closed; stdout/stderr captured, never more
    than ``4 * max_output_chars`` bytes of each held in memory; a wall-clock deadline after
    which the whole process group and session are SIGKILLed; rlimits on CPU seconds, address
    space, file size, core dumps (off), open files (``MAX_OPEN_FILES``) and tasks
    (RLIMIT_NPROC: ``max_processes`` processes or threads); no_new_privs; and a seccomp filter
    that refuses memory RLIMIT_AS does not count (``memfd_create``, SysV ``shmget``) and, unless
    ``allow_subprocess``, makes ``fork``/``vfork``/``clone`` (other than threads) fail with
    EPERM, so no shell-outs.

    ``isolation="bwrap"`` (the default; ``"auto"`` is an old alias) adds bubblewrap: a
    read-only view of ``/``; the only writable places are a private ``/tmp`` (holding the work
    dir) and ``/dev/shm``, each a tmpfs capped at ``max_disk_mb`` that vanishes with the sandbox,
    so nothing reaches the host's disk and a killed trainer leaves nothing behind; fresh
    ``/proc`` and a read-only ``/dev``; new PID/network/IPC/UTS namespaces (no network at all,
    not even loopback; no view of or signals to host processes, hence no reading other
    processes' ``/proc/<pid>/environ``); ``--die-with-parent``: when the deadline or the
    trainer's death kills bwrap, everything in the PID namespace dies. As a non-root user the
    code keeps that uid inside a new user namespace with no capabilities. As root, where
    RLIMIT_NPROC would not apply, the code runs as a random unprivileged uid instead, which
    also keeps root's files (e.g. ``/root``) out of reach. If bubblewrap is missing or unusable,
    construction raises and says how to install it.

    ``isolation="rlimits"`` must be asked for: it does NOT protect the file system (code can
    read and write whatever the calling uid can: as root, everything, and ``max_disk_mb`` is not
    enforced), the network, or other processes of the same uid (including reading their
    ``/proc/<pid>/environ``), and as root the kernel does not apply RLIMIT_NPROC. It bounds
    time, memory and file size, and the program is SIGKILLed when the trainer dies (processes
    it spawned with ``allow_subprocess`` are not). Its work dirs live under
    ``<tempdir>/paretopo-sandbox-<euid>``, named after the owner's pid; every new sandbox
    removes those of owners that are gone (a trainer killed by SIGKILL cannot clean up).

    Neither mode defends against kernel exploits or side channels; run training jobs on a
    machine or container you are prepared to lose. Creating a sandbox removes the work dirs left
    by sandboxes whose trainer was killed.

    Args:
        timeout_s: wall-clock limit per call.
        memory_mb: RLIMIT_AS (address space) per process, in MiB.
        cpu_time_s: RLIMIT_CPU per process; default ``ceil(timeout_s) + 1``.
        max_output_chars: stdout (+ stderr tail) characters returned to the policy.
        max_file_mb: RLIMIT_FSIZE, the largest file the code may write.
        max_disk_mb: under bwrap, the size of the tmpfs holding ``/tmp`` and the work dir,
            and of the one at ``/dev/shm``: at most twice this much RAM per call.
        max_processes: tasks (processes and threads) the code may start beyond those
            already running as its uid (under bwrap: inside the sandbox).
        allow_subprocess: let the code fork/spawn processes (the seccomp filter then only
            refuses ``memfd_create``, ``shmget`` and ``memfd_secret``).
        isolation: ``"bwrap"`` (raises if unusable; ``"auto"`` is an alias) or
            ``"rlimits"`` (weaker, see above).
        python: interpreter to run; default: the real file behind ``sys.executable``
            (a venv's ``bin/python`` is a link, and the venv may live under ``/tmp``,
            which bwrap replaces with an empty tmpfs; ``-I -S`` needs no site-packages).
    """

    name = "python"

    def __init__(
        self,
        timeout_s: float = 5.0,
        memory_mb: int = 512,
        cpu_time_s: int | None = None,
        max_output_chars: int = 4000,
        max_file_mb: int = 16,
        max_disk_mb: int = 64,
        max_processes: int = 32,
        allow_subprocess: bool = False,
        isolation: str = "bwrap",
        python: str | None = None,
    ) -> None:
        positive = {"timeout_s": timeout_s, "memory_mb": memory_mb,
                    "max_output_chars": max_output_chars, "max_file_mb": max_file_mb,
                    "max_disk_mb": max_disk_mb, "max_processes": max_processes}  # fmt: skip
        _check_args(positive, cpu_time_s, allow_subprocess)
        self.timeout_s = float(timeout_s)
        self.max_output_chars = int(max_output_chars)
        self.python = python or os.path.realpath(sys.executable)
        removed = remove_leftovers()
        if removed:
            logger.info("PythonSandbox: removed %d work dirs of killed sandboxes", len(removed))
        self.isolation = resolve_isolation(isolation, self.python)
        self._disk_bytes = int(max_disk_mb) * _MIB
        self._spec = _launch_spec(
            timeout_s, memory_mb, cpu_time_s, max_file_mb, max_processes, allow_subprocess
        )

    def __call__(self, text: str) -> ToolResult:
        """Run ``text`` (optionally wrapped in a ``` fence) as a Python program."""
        code = strip_code_fence(text)
        if not code.strip():
            return ToolResult(ok=False, text="Error: no code to run.", error="empty_code")
        limits = {"timeout_s": self.timeout_s, "max_bytes": 4 * self.max_output_chars}
        try:
            if self.isolation == "bwrap":
                outcome = run_bwrap(
                    self.python, self._spec, code, disk_bytes=self._disk_bytes, **limits
                )
            else:
                outcome = run_rlimits(self.python, self._spec, code, **limits)
        except OSError as exc:
            return ToolResult(ok=False, text=f"Error: sandbox failed: {exc}", error="sandbox_error")
        return self._result(outcome)

    def _result(self, outcome: ProcessOutcome) -> ToolResult:
        stdout = outcome.stdout.decode("utf-8", errors="replace")
        stderr = outcome.stderr.decode("utf-8", errors="replace")
        truncated = outcome.stdout_truncated or len(stdout) > self.max_output_chars
        stdout = stdout[: self.max_output_chars]
        if outcome.timed_out:
            note = f"TimeoutError: execution exceeded {self.timeout_s:g} s and was killed"
            error = "timeout"
        elif outcome.returncode == SETUP_FAILED and stderr.startswith("sandbox setup failed"):
            note, error = stderr.strip(), "sandbox_error"
        elif outcome.returncode != 0:
            note, error = _stderr_tail(stderr) or _describe_exit(outcome.returncode), "nonzero_exit"
        else:
            text = stdout + (_TRUNCATION_MARK if truncated else "")
            error = "output_truncated" if truncated else None
            return ToolResult(ok=True, text=text, error=error, latency_s=outcome.elapsed_s)
        room = max(self.max_output_chars - len(note), 0)
        head = stdout[:room] + (_TRUNCATION_MARK if truncated or len(stdout) > room else "")
        head = head.rstrip("\n")
        text = f"{head}\n{note}" if head.strip() else note
        return ToolResult(ok=False, text=text, error=error, latency_s=outcome.elapsed_s)


def _check_args(positive: dict[str, float], cpu_time_s: int | None, allow_subprocess: bool) -> None:
    """Raise a ValueError naming the argument: ``positive`` (name -> value) must all be > 0,
    ``cpu_time_s`` >= 1 or None, and ``allow_subprocess=False`` needs seccomp."""
    for field, value in positive.items():
        if not value > 0:
            raise ValueError(f"{field}={value!r}: must be > 0")
    if cpu_time_s is not None and cpu_time_s < 1:
        raise ValueError(f"cpu_time_s={cpu_time_s!r}: must be >= 1 (or None)")
    if not allow_subprocess and not seccomp_supported():
        raise ValueError(
            "allow_subprocess=False needs the seccomp no-fork filter, which has no "
            "version for this CPU architecture; pass allow_subprocess=True."
        )


def _launch_spec(
    timeout_s: float,
    memory_mb: int,
    cpu_time_s: int | None,
    max_file_mb: int,
    max_processes: int,
    allow_subprocess: bool,
) -> dict:
    """The spec ``run_bwrap`` / ``run_rlimits`` take: rlimits, task limit, seccomp flags."""
    return {
        "rlimits": {
            "RLIMIT_CPU": int(cpu_time_s or math.ceil(timeout_s) + 1),
            "RLIMIT_AS": int(memory_mb) * _MIB,
            "RLIMIT_FSIZE": int(max_file_mb) * _MIB,
            "RLIMIT_CORE": 0,
            "RLIMIT_NOFILE": _open_files_limit(),
        },
        "max_processes": int(max_processes),
        "no_fork": not allow_subprocess,
        "seccomp": seccomp_supported(),
    }


def _open_files_limit() -> int:
    """``MAX_OPEN_FILES``, or the inherited hard limit if that is lower (it cannot be raised)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(MAX_OPEN_FILES, hard)


def strip_code_fence(text: str) -> str:
    """Remove one surrounding Markdown code fence (```python ... ```), if present."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        return text
    body = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body[: body.rfind("```")] if body.rstrip().endswith("```") else body


def _stderr_tail(stderr: str) -> str:
    """The last lines of stderr (a traceback's tail), at most ``_STDERR_TAIL_CHARS``."""
    stderr = stderr.strip()
    tail = stderr[-_STDERR_TAIL_CHARS:]
    if len(stderr) > _STDERR_TAIL_CHARS and "\n" in tail:
        tail = tail.split("\n", 1)[1]  # drop the cut-off first line
    return tail


def _describe_exit(returncode: int | None) -> str:
    """Human text for an exit status; ``-N`` (and bwrap's ``128 + N``) mean signal N."""
    signum = -returncode if returncode is not None and returncode < 0 else None
    if signum is None and returncode is not None and 128 < returncode < 128 + 65:
        signum = returncode - 128
    if signum is None:
        return f"Error: exited with status {returncode}"
    if signum in (signal.SIGXCPU, signal.SIGKILL):
        return f"Error: killed by {signal.Signals(signum).name} (CPU time or memory limit?)"
    return f"Error: killed by signal {signum}"
