"""A callback that writes what one rank saw to ``<out>/rank<r>-<launch>.json``, for the
multi-process tests (tests/test_ddp.py), which read it after the processes exit.

Per training rollout: the global step, the task ids, the group size, the row count, whether each
group's G rows start with one same prompt, the sampled tokens per row and a digest of the ids. Per training batch
end: the stage, the switch step, the archive HV and the weights. Per validation and test: this
rank's own evaluation sums (before any gather) and the logged val/* or test/* metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback


def _groups_whole(batch: Any, group_size: int) -> bool:
    """Rows g*G .. g*G+G-1 share their prompt (one task's G rollouts, on this rank)."""
    for start in range(0, len(batch), group_size):
        n = int(batch.prompt_lengths[start])
        prompt = batch.input_ids[start, :n]
        for row in range(start, start + group_size):
            same = int(batch.prompt_lengths[row]) == n
            if not (same and batch.input_ids[row, :n].equal(prompt)):
                return False
    return True


class DDPProbe(Callback):
    """Record one rank's view of a fit (module docstring).

    Args:
        out: the directory the JSON files go to.
        launch: a name for this launch (e.g. "whole", "resumed").
    """

    def __init__(self, out: str, launch: str) -> None:
        self.out, self.launch = Path(out), launch
        self.record: dict[str, list] = {"rollouts": [], "steps": [], "validations": [], "tests": []}

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        rollout = pl_module.rollout

        def recorded(tasks, group_size, greedy, generator=None):
            batch = rollout(tasks, group_size, greedy, generator)
            if generator is None:  # the training stream
                digest = hashlib.sha256(batch.input_ids.cpu().numpy().tobytes()).hexdigest()
                self.record["rollouts"].append({
                    "step": trainer.global_step, "tasks": [t.id for t in tasks],
                    "group_size": group_size, "rows": len(batch),
                    "groups_whole": _groups_whole(batch, group_size), "digest": digest[:16],
                    "sampled": batch.action_mask.sum(dim=1).tolist(),
                })  # fmt: skip
            return batch

        pl_module.rollout = recorded

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.record["steps"].append({
            "step": trainer.global_step, "stage": pl_module.stage,
            "switch_step": pl_module.switch_step, "hv": pl_module.hv_weights.hypervolume,
            "weights": pl_module.current_weights().tolist(),
        })  # fmt: skip

    def _evaluation(self, trainer: pl.Trainer, pl_module: pl.LightningModule, key: str) -> None:
        prefix = "val/" if key == "validations" else "test/"
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
        sums = pl_module._eval.sums(pl_module.device).cpu().tolist()
        self.record[key].append(
            {"step": trainer.global_step, "local_sums": sums, "metrics": metrics}
        )

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._evaluation(trainer, pl_module, "validations")

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._evaluation(trainer, pl_module, "tests")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.record |= {"world_size": trainer.world_size, "pid": os.getpid()}
        path = self.out / f"rank{trainer.global_rank}-{self.launch}.json"
        path.write_text(json.dumps(self.record))
