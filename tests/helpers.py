"""Shared test helpers (not fixtures): the one Trainer factory, command-line overrides that
shrink the quickstart, the environment of a ``train.py`` subprocess."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch import Trainer

REPO = Path(__file__).resolve().parents[1]


def make_trainer(
    root: Path, max_steps: int, callbacks: list | None = None, **kwargs: Any
) -> Trainer:
    """A quiet one-process CPU Trainer that logs every step: no logger, no checkpointing, no
    sanity check unless ``kwargs`` say otherwise (they override every default here)."""
    defaults: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "num_sanity_val_steps": 0,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
    }
    return Trainer(
        default_root_dir=str(root),
        max_steps=max_steps,
        callbacks=callbacks or [],
        **(defaults | kwargs),
    )


def tiny_quickstart(
    max_steps: int = 2, train_size: int = 16, eval_size: int = 4, test_samples: int | None = None
) -> list[str]:
    """CLI overrides that make ``configs/quickstart.yaml`` run in seconds: 2 prompts x 2
    rollouts of 2 short turns, validation every 2 steps on one batch of ``eval_size`` tasks."""
    args = [
        f"--trainer.max_steps={max_steps}",
        "--trainer.val_check_interval=2",
        "--trainer.limit_val_batches=1",
        "--trainer.enable_progress_bar=false",
        "--model.init_args.rollout.group_size=2",
        "--model.init_args.rollout.max_turns=2",
        "--model.init_args.rollout.max_new_tokens=16",
        "--model.init_args.rollout.max_total_tokens=96",
        "--data.init_args.batch_size=2",
        f"--data.init_args.train_size={train_size}",
        f"--data.init_args.val_size={eval_size}",
        f"--data.init_args.test_size={eval_size}",
        f"--data.init_args.val_batch_size={eval_size}",
    ]
    if test_samples is not None:
        args.append(f"--model.init_args.rollout.test_samples={test_samples}")
    return args


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a ``train.py`` subprocess: offline W&B, one thread, a fixed hash
    seed, and without ``WANDB_SERVICE``: an in-process W&B test leaves it set, and a child that
    inherits it attaches to this process's W&B service, which keeps a killed child's run id
    "in use" (a user's ``train.py`` never shares a service)."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    return env | {"WANDB_MODE": "offline", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"} | extra


def tiny_smollm2_rl_config(tmp_path: Path, warm_start: Path, **rollout: Any) -> Path:
    """``configs/smollm2_gsm8k_cpu.yaml`` shrunk to 2 ParetoPO steps of 2 prompts (switch at
    step 1, one test sample) on the policy ``warm_start`` saves in ``tmp_path/tools``;
    ``rollout`` overrides more rollout settings. Returns the written YAML's path."""
    config = yaml.safe_load((REPO / "configs/smollm2_gsm8k_cpu.yaml").read_text())
    config["trainer"].update(max_steps=2, val_check_interval=2, enable_progress_bar=False)
    switch = next(c for c in config["trainer"]["callbacks"] if "StageSwitch" in c["class_path"])
    switch["init_args"].update(min_stage1_steps=1, max_stage1_steps=1, patience=1)
    model = config["model"]["init_args"]
    model["policy"].update(name_or_path=str(tmp_path / "tools"), warmstart=str(warm_start))
    model["rollout"].update(test_samples=1, **rollout)
    config["data"]["init_args"].update(
        batch_size=2, train_size=8, val_size=2, test_size=2, val_batch_size=2
    )
    path = tmp_path / "rl.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
