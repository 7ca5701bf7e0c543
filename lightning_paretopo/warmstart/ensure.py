"""Run the warm start when a configured local policy is missing (no manual step).

Contract:
    - ``ensure_policy(name_or_path, warmstart, gguf_file)``: if ``name_or_path`` looks like a
      local directory, holds no saved policy and a warm-start config is given, it runs
      ``python -m lightning_paretopo fit --config <warmstart> --model.init_args.output_dir=<path>``
      in a child process (its own Trainer, progress bar and logs; without torchrun's and
      Lightning's rank and world-size variables, ``child_env``, so it trains as one process),
      then checks the policy is there. A hub id (``org/name``) is never touched. With
      ``gguf_file`` the policy is that file inside ``name_or_path``: a local one must exist
      (ValueError naming ``policy.gguf_file``), and no warm start runs. Without a warm-start config a missing policy is the ValueError of
      ``policy.loading.require_saved_policy``.
    - ``ensure_policy_once``: the same, once per launch. Global rank 0 (by the launcher's
      environment, ``launch_rank_zero``) runs it; every other rank waits until ``config.json``
      appears in ``name_or_path`` (``wait_for_policy``: polls, TimeoutError after
      ``WAIT_TIMEOUT_S``). Waiting on ``config.json`` is enough: the ranks' process group forms
      in ``trainer.fit`` before any rank loads the policy (``configure_model``), and rank 0 joins
      it only after its warm start's child process has exited.

Who calls it: the CLI (``cli.warm_start_policy``, first in ``ParetoPOCLI._run_subcommand``),
after the config is checked and the classes are constructed (which loads nothing) and before
the command runs, so before ``configure_model`` builds the RL policy (``building.build_policy``,
which only loads); ``benchmarks/fronts.py`` before it launches runs. Under Lightning's own DDP
launcher the other ranks start from rank 0's ``trainer.fit``, after the warm start, and find the
policy saved; under ``torchrun`` they start together and wait.

Deliberately not done: no locking between concurrent runs that need the same missing policy
(start one first), no shared-filesystem check across nodes (each node's ranks wait for the
path on their own filesystem), and SLURM's variables are passed to the child unchanged.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from lightning_paretopo.policy.loading import require_saved_policy, saved_policy_missing

log = logging.getLogger(__name__)

RANK_VARS = ("RANK", "GLOBAL_RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID")
"""Launcher variables of a process's rank: torchrun (``RANK``, ``LOCAL_RANK``), Lightning's own
DDP launcher (``LOCAL_RANK``, ``NODE_RANK``), SLURM (``SLURM_PROCID``)."""
LAUNCH_VARS = ("RANK", "GLOBAL_RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "ROLE_RANK",
               "WORLD_SIZE", "LOCAL_WORLD_SIZE", "ROLE_WORLD_SIZE", "GROUP_WORLD_SIZE",
               "MASTER_ADDR", "MASTER_PORT")  # fmt: skip
"""What torchrun and Lightning's launcher set; the warm start's child process gets none of them
(nor ``TORCHELASTIC_*``)."""
WAIT_TIMEOUT_S = 2 * 3600.0
"""How long a non-zero rank waits for rank 0's warm start (the SmolLM2 one takes ~30 min on CPU)."""
POLL_S = 2.0


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The warm start's environment: this one without the launcher's distributed variables
    (``LAUNCH_VARS``), so its Trainer runs as one process and does not join the RL ranks."""
    env = os.environ if env is None else env
    return {
        k: v for k, v in env.items() if k not in LAUNCH_VARS and not k.startswith("TORCHELASTIC_")
    }


def launch_rank_zero(env: Mapping[str, str] | None = None) -> bool:
    """Global rank 0 by the launcher's environment, read now: each of ``RANK_VARS`` that is set
    is 0 (a plain ``python train.py`` sets none). Known before any strategy sets its ranks."""
    env = os.environ if env is None else env
    return all(env.get(name, "0").strip() in ("0", "") for name in RANK_VARS)


def ensure_policy(name_or_path: str, warmstart: str | None, gguf_file: str | None = None) -> bool:
    """Warm-start the policy into ``name_or_path`` when it is a missing local directory.

    Returns:
        True when a warm start ran.

    Raises:
        ValueError: the policy is missing and no warm-start config is given, or the warm start
            did not produce it.
    """
    if not saved_policy_missing(name_or_path, gguf_file):
        return False
    if warmstart is None:
        require_saved_policy(name_or_path, None)  # raises: set policy.warmstart or save one
    if not Path(warmstart).is_file():
        raise ValueError(f"policy.warmstart: config file {warmstart} not found")
    path = Path(name_or_path).expanduser()
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
    subprocess.run(cmd, check=True, env=child_env())
    if not (path / "config.json").is_file():
        raise ValueError(f"policy.warmstart: {warmstart} ran but did not save a policy in {path}")
    return True


def wait_for_policy(
    name_or_path: str, warmstart: str, timeout_s: float = WAIT_TIMEOUT_S, poll_s: float = POLL_S
) -> None:
    """Wait until rank 0's warm start has saved ``<name_or_path>/config.json``.

    Raises:
        TimeoutError: not there after ``timeout_s`` seconds (names the path and the config).
    """
    path = Path(name_or_path).expanduser()
    log.info("policy %s is missing: waiting for rank 0's warm start (%s)", path, warmstart)
    deadline = time.monotonic() + timeout_s
    while not (path / "config.json").is_file():
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"policy.name_or_path: waited {timeout_s:.0f} s for rank 0's warm start "
                f"(policy.warmstart: {warmstart}) to save {path / 'config.json'}; see rank 0's "
                f"log, or run it first: python -m lightning_paretopo fit --config {warmstart} "
                f"--model.init_args.output_dir={path}"
            )
        time.sleep(poll_s)


def ensure_policy_once(
    name_or_path: str,
    warmstart: str | None,
    gguf_file: str | None = None,
    timeout_s: float = WAIT_TIMEOUT_S,
) -> bool:
    """``ensure_policy`` on global rank 0; on any other rank, wait for its result.

    Returns:
        True when this process ran a warm start.
    """
    if launch_rank_zero():
        return ensure_policy(name_or_path, warmstart, gguf_file)
    if saved_policy_missing(name_or_path, gguf_file):
        if warmstart is None:
            require_saved_policy(name_or_path, None)  # raises, as on rank 0
        wait_for_policy(name_or_path, warmstart, timeout_s)
    return False
