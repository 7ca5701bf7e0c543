"""Run the warm start when a configured local policy is missing (no manual step).

``ensure_policy`` is called by the CLI before the RL module is built. If ``name_or_path`` looks
like a local directory, does not exist, and a warm-start config is given, it runs
``python -m lightning_paretopo fit --config <warmstart> --model.init_args.output_dir=<path>``
in a child process (its own Trainer, progress bar and logs), then checks the policy is there.
A hub id (``org/name``) is never touched. With ``gguf_file`` the policy is that file inside
``name_or_path``: a local one must exist (ValueError naming ``policy.gguf_file``), and no warm
start runs. Deliberately not done: no locking between concurrent
runs that need the same missing policy (start one first).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

LOCAL_PREFIXES = (".", "/", "~", "logs/", "data/")


def is_local_path(name_or_path: str) -> bool:
    """True for paths the project writes (``logs/...``) or any explicit filesystem path."""
    return name_or_path.startswith(LOCAL_PREFIXES) or Path(name_or_path).exists()


def ensure_policy(name_or_path: str, warmstart: str | None, gguf_file: str | None = None) -> bool:
    """Warm-start the policy into ``name_or_path`` when it is a missing local directory.

    Returns:
        True when a warm start ran.

    Raises:
        ValueError: the policy is missing and no warm-start config is given, or the warm start
            did not produce it.
    """
    path = Path(name_or_path).expanduser()
    if gguf_file is not None:
        if is_local_path(name_or_path) and not (path / gguf_file).is_file():
            raise ValueError(
                f"policy.gguf_file: {path / gguf_file} not found; for SmolLM2 run `make smollm2` "
                "and point policy.name_or_path at the converted directory instead"
            )
        return False
    if not is_local_path(name_or_path) or (path / "config.json").is_file():
        return False
    if warmstart is None:
        raise ValueError(
            f"policy.name_or_path: {path} has no saved policy; set policy.warmstart to a "
            "warm-start config (e.g. configs/warmstart/arith.yaml) or save one there"
        )
    if not Path(warmstart).is_file():
        raise ValueError(f"policy.warmstart: config file {warmstart} not found")
    log.info("policy %s is missing: running the warm start %s first", path, warmstart)
    cmd = [
        sys.executable,
        "-m",
        "lightning_paretopo",
        "fit",
        "--config",
        warmstart,
        f"--model.init_args.output_dir={path}",
    ]
    subprocess.run(cmd, check=True)
    if not (path / "config.json").is_file():
        raise ValueError(f"policy.warmstart: {warmstart} ran but did not save a policy in {path}")
    return True
