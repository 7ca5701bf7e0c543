"""How the python sandbox is launched: the mode, the bubblewrap probe, one call in each mode.

Contract: ``resolve_isolation(mode, python)`` returns ``"bwrap"`` or ``"rlimits"``. bubblewrap
is the default and is required: ``"bwrap"`` (and its old alias ``"auto"``) probes it once per
interpreter (caching the answer) and raises, saying how to install it or how to choose the
weaker mode, when it is missing or unusable. ``"rlimits"`` is taken only when asked for, with one
logged warning. ``run_bwrap`` and ``run_rlimits`` run one program; the limits themselves are set
by ``_launcher.py`` inside the sandbox, so nothing here runs Python code between ``fork`` and
``exec`` (no ``preexec_fn``, which is unsafe when tool calls run on threads).

Deliberately not done: falling back to rlimits on its own; that mode lets model code read and
write this user's files, reach the network and signal the trainer.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import secrets
import shutil
import threading
from pathlib import Path

from lightning_paretopo.tools._bwrap import SANDBOX_TMP, bwrap_flags
from lightning_paretopo.tools._process import ProcessOutcome, run_process
from lightning_paretopo.tools._workdir import WORKDIR_PREFIX, make_workdir

logger = logging.getLogger(__name__)

ISOLATION_MODES = ("bwrap", "rlimits", "auto")
SECCOMP_ARCHES = ("x86_64", "amd64", "aarch64", "arm64")
# A root caller's sandbox runs as a random uid from this range: no host account uses these,
# so RLIMIT_NPROC counts this call's tasks only (another call is unlikely to share its uid).
SANDBOX_UID_BASE, SANDBOX_UID_SPAN = 1_900_000_000, 2**24
_LAUNCHER_SOURCE = (Path(__file__).with_name("_launcher.py")).read_text()
_probe_lock = threading.Lock()
_probe_cache: dict[tuple[str, str], str | None] = {}  # (bwrap, python) -> None if usable, else why
_warned: set[str] = set()


def launcher_argv(python: str, spec: dict, script: str) -> list[str]:
    """``python -I -S -c <launcher> SPEC SCRIPT``: sets limits, then execs the script."""
    return [python, "-I", "-S", "-c", _LAUNCHER_SOURCE, json.dumps(spec), script]


def minimal_env(workdir: str) -> dict[str, str]:
    """The whole environment the model's code sees: nothing is inherited from the caller."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "OMP_NUM_THREADS": "1",
    }


def run_bwrap(
    python: str, spec: dict, code: str, *, disk_bytes: int, timeout_s: float, max_bytes: int
) -> ProcessOutcome:
    """Run ``code`` under bubblewrap; its work dir is a path inside the sandbox's own tmpfs."""
    workdir = f"{SANDBOX_TMP}/{WORKDIR_PREFIX}{secrets.token_hex(8)}"
    privileged = os.geteuid() == 0
    if privileged:
        spec = {**spec, "uid": SANDBOX_UID_BASE + secrets.randbelow(SANDBOX_UID_SPAN)}
    fd = os.memfd_create("pysandbox-main.py", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as script:  # bwrap copies it into the sandbox as main.py
        script.write(code.encode("utf-8"))
        script.flush()
        script.seek(0)
        flags = bwrap_flags(
            workdir=workdir, script_fd=fd, disk_bytes=disk_bytes, python=python,
            privileged=privileged,
        )  # fmt: skip
        argv = [_bwrap_path() or "bwrap", *flags, "--"]
        argv += launcher_argv(python, spec, f"{workdir}/main.py")
        return run_process(
            argv, env=minimal_env(workdir), cwd="/", timeout_s=timeout_s, max_bytes=max_bytes,
            pass_fds=(fd,),
        )  # fmt: skip


def run_rlimits(
    python: str, spec: dict, code: str, *, timeout_s: float, max_bytes: int
) -> ProcessOutcome:
    """Run ``code`` with rlimits only, in a host work dir that is removed afterwards."""
    workdir = make_workdir()
    try:
        script = Path(workdir) / "main.py"
        script.write_text(code, encoding="utf-8")
        spec = {**spec, "parent_pid": os.getpid()}
        return run_process(
            launcher_argv(python, spec, str(script)), env=minimal_env(workdir), cwd=workdir,
            timeout_s=timeout_s, max_bytes=max_bytes,
        )  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def seccomp_supported() -> bool:
    """Whether ``_launcher.py`` has a seccomp filter for this machine's architecture."""
    return platform.machine().lower() in SECCOMP_ARCHES


def resolve_isolation(mode: str, python: str) -> str:
    """Map ``"bwrap" | "rlimits" | "auto"`` (an alias of ``"bwrap"``) to the mode that runs.

    Raises:
        ValueError: ``mode`` is not one of ``ISOLATION_MODES``.
        RuntimeError: bubblewrap is asked for (the default) but is missing or unusable here.
    """
    if mode not in ISOLATION_MODES:
        raise ValueError(f"isolation={mode!r}: expected one of {ISOLATION_MODES}")
    if mode == "rlimits":
        _warn_once(
            "rlimits",
            "PythonSandbox(isolation='rlimits'): model code can read and write any file this "
            "user can, reach the network and signal this user's processes, the trainer included%s.",
            "; as root, threads and processes are not limited either" if os.geteuid() == 0 else "",
        )
        return "rlimits"
    why_not = probe_bwrap(python)
    if why_not is None:
        return "bwrap"
    raise RuntimeError(
        f"PythonSandbox(isolation={mode!r}): bubblewrap is unusable here: {why_not}. Install it "
        "(apt-get install bubblewrap; run as root it needs CAP_SYS_ADMIN, which a default "
        "Docker container lacks; run as another user it needs unprivileged user namespaces), "
        "or accept the weaker mode explicitly with isolation='rlimits' (in a "
        "config: the python tool's arguments, e.g. model.tool_specs: {python: {isolation: "
        "rlimits}}), where model code can read and write this user's files, reach the network "
        "and signal the trainer."
    )


def probe_bwrap(python: str) -> str | None:
    """Run ``print(6*7)`` in the real bwrap sandbox once; None when it works, else why."""
    bwrap = _bwrap_path()
    if bwrap is None:
        return "bwrap not found on PATH"
    key = (bwrap, python)
    with _probe_lock:
        if key not in _probe_cache:
            _probe_cache[key] = _run_probe(python)
        return _probe_cache[key]


def _run_probe(python: str) -> str | None:
    spec = {"rlimits": {}, "max_processes": 8, "no_fork": False, "seccomp": False}
    try:
        done = run_bwrap(
            python, spec, "print(6 * 7)\n", disk_bytes=2**20, timeout_s=30, max_bytes=4096
        )
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0 and done.stdout.strip() == b"42":
        return None
    stderr = done.stderr.decode(errors="replace").strip()[-300:]
    return "timed out" if done.timed_out else f"exit status {done.returncode}: {stderr}"


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _warn_once(key: str, msg: str, *args: object) -> None:
    with _probe_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(msg, *args)
