"""How the python sandbox is launched: the bubblewrap probe, the command line, the environment.

Contract: ``resolve_isolation(mode, python)`` returns ``"bwrap"`` or ``"rlimits"`` (probing
bubblewrap once per interpreter and caching the answer; ``"auto"`` falls back with one logged
warning, ``"bwrap"`` raises when it is unusable). ``sandbox_argv`` builds the command for a call
and ``minimal_env`` the environment. The limits themselves are set by ``_launcher.py`` inside the
sandbox, so nothing here runs Python code between ``fork`` and ``exec`` (no ``preexec_fn``, which
is unsafe when tool calls run on threads).
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

ISOLATION_MODES = ("auto", "bwrap", "rlimits")
NO_FORK_ARCHES = ("x86_64", "amd64", "aarch64", "arm64")
_LAUNCHER_SOURCE = (Path(__file__).with_name("_launcher.py")).read_text()
_probe_lock = threading.Lock()
_probe_cache: dict[tuple[str, str], str | None] = {}  # (bwrap, python) -> None if usable, else why
_warned: set[str] = set()


def bwrap_flags(workdir: str) -> list[str]:
    """Bubblewrap options: read-only /, fresh /dev and /proc, private /tmp, rw ``workdir``.

    ``--unshare-all`` gives new user (where allowed), PID, network, IPC, UTS and cgroup
    namespaces; ``--cap-drop ALL`` matters when the caller is root (bwrap keeps root's
    capabilities otherwise); ``--new-session`` blocks TIOCSTI on the caller's terminal;
    ``--die-with-parent`` kills the sandbox if the caller dies (PR_SET_PDEATHSIG: the "parent"
    is the thread that started it, which waits for it, so thread pools are safe).
    """
    return [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--bind", workdir, workdir,
        "--chdir", workdir,
        "--unshare-all",
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
    ]  # fmt: skip


def launcher_argv(python: str, spec: dict, script: str) -> list[str]:
    """``python -I -S -c <launcher> SPEC SCRIPT``: sets limits, then execs the script."""
    return [python, "-I", "-S", "-c", _LAUNCHER_SOURCE, json.dumps(spec), script]


def sandbox_argv(isolation: str, python: str, spec: dict, workdir: str, script: str) -> list[str]:
    """The full command line for one call in ``isolation`` mode ("bwrap" or "rlimits")."""
    inner = launcher_argv(python, spec, script)
    if isolation == "bwrap":
        return [_bwrap_path() or "bwrap", *bwrap_flags(workdir), "--", *inner]
    return inner


def minimal_env(workdir: str) -> dict[str, str]:
    """The whole environment the model's code sees: nothing is inherited from the caller."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "OMP_NUM_THREADS": "1",
    }


def no_fork_supported() -> bool:
    """Whether ``_launcher.py`` has a seccomp filter for this machine's architecture."""
    return platform.machine().lower() in NO_FORK_ARCHES


def resolve_isolation(mode: str, python: str) -> str:
    """Map ``"auto" | "bwrap" | "rlimits"`` to the mode that will actually run.

    Raises:
        ValueError: ``mode`` is not one of ``ISOLATION_MODES``.
        RuntimeError: ``mode == "bwrap"`` and bubblewrap is missing or unusable here.
    """
    if mode not in ISOLATION_MODES:
        raise ValueError(f"isolation={mode!r}: expected one of {ISOLATION_MODES}")
    if mode == "rlimits":
        return "rlimits"
    why_not = probe_bwrap(python)
    if why_not is None:
        return "bwrap"
    if mode == "bwrap":
        raise RuntimeError(
            f"isolation='bwrap' but bubblewrap is unusable here: {why_not}. Install it "
            "(apt-get install bubblewrap), allow user namespaces, or pass isolation='rlimits'."
        )
    _warn_once(
        f"bwrap:{why_not}",
        "PythonSandbox: bubblewrap unusable (%s); falling back to isolation='rlimits': model "
        "code can read any file and write any file this user can, and reach the network.",
        why_not,
    )
    return "rlimits"


def probe_bwrap(python: str) -> str | None:
    """Run ``print(6*7)`` under the real sandbox command once; None when it works, else why."""
    bwrap = _bwrap_path()
    if bwrap is None:
        return "bwrap not found on PATH"
    key = (bwrap, python)
    with _probe_lock:
        if key not in _probe_cache:
            _probe_cache[key] = _run_probe(python)
        return _probe_cache[key]


def _run_probe(python: str) -> str | None:
    workdir = tempfile.mkdtemp(prefix="pysandbox-probe-")
    try:
        script = str(Path(workdir) / "main.py")
        Path(script).write_text("print(6 * 7)\n")
        spec = {"rlimits": {}, "max_processes": None, "no_fork": False}
        argv = sandbox_argv("bwrap", python, spec, workdir, script)
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, env=minimal_env(workdir),
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        if done.returncode == 0 and done.stdout.strip() == "42":
            return None
        return f"exit status {done.returncode}: {done.stderr.strip()[-300:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _warn_once(key: str, msg: str, *args: object) -> None:
    with _probe_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(msg, *args)
