"""Where a benchmark run came from: the machine, the git tree, the warm-start policy, the launches.

Contract.

- ``machine_info``: platform, Python, CPU model and count, the CPU's AVX2 / AVX-512 flags
  (``/proc/cpuinfo``; AVX-512 kernels change float results) and the torch version (read from
  the installed package's metadata, without importing torch).
- ``machine_key``: what makes two machines "the same machine" for a block: CPU model, AVX2,
  AVX-512 flags and torch version (not the kernel, host name or CPU count: runs use one thread).
- ``policy_hash``: a sha256 over the warm-start policy's weight files (``*.safetensors``,
  ``*.bin``, ``*.pt``, ``*.pth``, ``*.gguf`` under the policy directory, by relative path,
  each path and its bytes hashed in turn), with the files it covered.
- ``git_state``: HEAD's commit and whether the tree was dirty (tracked files changed, outside
  ``benchmarks/records*/``, which the runner itself writes), with up to 20 changed paths.
- ``launch_entry`` / ``append_launch`` / ``read_launches``: the runner writes one JSON line per
  launch (start or resume) to ``<run dir>/provenance.jsonl`` before the process starts (command,
  time, git, machine, warm start) and one ``exit`` line when it ends (return code, wall time):
  the record of a run resumed later still says how it was started.

Deliberately not done: no host names, user names or environment variables are recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
PROVENANCE = "provenance.jsonl"
KEY_FIELDS = ("cpu", "avx2", "avx512", "torch")


def cpu_model_and_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, set[str]]:
    """The first ``model name`` and the ``flags`` of ``/proc/cpuinfo`` (platform's guess and no
    flags where there is no such file)."""
    model, flags = None, None
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags" and flags is None:
                flags = set(value.split())
    return model or platform.processor() or "unknown", flags or set()


def machine_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """Where a run ran (module docstring)."""
    model, flags = cpu_model_and_flags(cpuinfo)
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "avx2": "avx2" in flags,
        "avx512": sorted(f for f in flags if f.startswith("avx512")),
        "torch": torch_version,
    }


def machine_key(machine: dict[str, Any]) -> dict[str, Any]:
    """The fields that must agree for two runs to count as one machine's."""
    return {field: machine.get(field) for field in KEY_FIELDS}


def describe_machine(machine: dict[str, Any]) -> str:
    """One line: CPU (count), AVX-512 or not, torch, Python, platform."""
    avx512 = f"AVX-512 ({len(machine['avx512'])} flags)" if machine.get("avx512") else "no AVX-512"
    avx2 = "AVX2" if machine.get("avx2") else "no AVX2"
    return (
        f"{machine['cpu']} ({machine.get('cpu_count')} CPUs, {avx2}, {avx512}), "
        f"torch {machine['torch']}, Python {machine.get('python')}, {machine.get('platform')}"
    )


def policy_hash(policy_dir: str | Path) -> dict[str, Any]:
    """``{"path", "sha256", "files"}`` of the policy's weight files (module docstring).

    Raises:
        FileNotFoundError: the directory holds no weight file.
    """
    root = Path(policy_dir)
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)
    )
    if not files:
        raise FileNotFoundError(f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) under {root}")
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0")
        with (root / name).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return {"path": str(policy_dir), "sha256": digest.hexdigest(), "files": files}


def git_state(repo: Path) -> dict[str, Any]:
    """``{"commit", "dirty", "changed"}`` of the tree at ``repo`` (commit None without git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git(
            "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/records*"
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "changed": []}
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    return {"commit": commit, "dirty": bool(changed), "changed": changed[:20]}


def launch_entry(
    cmd: list[str], action: str, repo: Path, warm_start: dict[str, Any]
) -> dict[str, Any]:
    """The ``launch`` line of one start or resume (module docstring)."""
    return {
        "event": "launch",
        "action": action,
        "command": shlex.join(["python", *cmd[1:]]),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "git": git_state(repo),
        "machine": machine_info(),
        "warm_start": warm_start,
    }


def append_launch(run_dir: Path, entry: dict[str, Any]) -> None:
    """Append one line to ``<run dir>/provenance.jsonl``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / PROVENANCE).open("a") as f:
        f.write(json.dumps(entry) + "\n")


def read_launches(run_dir: Path) -> list[dict[str, Any]]:
    """The launches of a run, each with its ``exit`` (return code, wall_s) when one was written."""
    path = Path(run_dir) / PROVENANCE
    launches: list[dict[str, Any]] = []
    for line in path.read_text().splitlines() if path.exists() else []:
        entry = json.loads(line) if line.strip() else None
        if entry is None:
            continue
        if entry.get("event") == "launch":
            launches.append(entry)
        elif entry.get("event") == "exit" and launches:
            launches[-1]["exit"] = {k: entry[k] for k in ("rc", "wall_s") if k in entry}
    return launches
