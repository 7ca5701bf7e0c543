"""A stand-in for ParetoPOModule with the attributes the callbacks read, and a Trainer factory.

The module trains a 2 -> 1 linear layer on zeros; its ``training_step`` feeds
``HypervolumeWeights(2, alpha=1.0)`` the scripted batch point (min(s, plateau_at) / 10, 0.5)
for the s-th training step (s = 1, 2, ...). With alpha = 1 the EMA point is the batch point,
the archive holds that one point and the archive HV after s steps is 0.05 * min(s, plateau_at):
it stops growing after step ``plateau_at``. Validation records follow ``VAL_SCRIPT``.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from lightning_paretopo.pareto import HypervolumeWeights, hypervolume, is_non_dominated
from tests.helpers import make_trainer  # noqa: F401  (the callbacks tests import it from here)

STANDIN_WARNINGS = [  # what a Trainer on the stand-in module warns about, harmlessly
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\)"),
    pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before"),
    pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no"),
    pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`"),
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
]
TOOL_BUDGET = 4  # M of tool_efficiency = 1 - min(m, M) / M
# (accuracy, tool_calls) of the k-th validation
VAL_SCRIPT = [(0.30, 2.0), (0.50, 2.5), (0.45, 1.5), (0.60, 3.0), (0.40, 3.5), (0.65, 2.0)]


def hv_after(step: int, plateau_at: int = 5) -> float:
    """The archive HV after ``step`` training steps (module docstring)."""
    return 0.05 * min(step, plateau_at)


class StandInModule(pl.LightningModule):
    def __init__(self, method: str = "paretopo", plateau_at: int = 5) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.method = method
        self.plateau_at = plateau_at
        self.stage = 2 if method == "stage2_only" else 1
        self.switch_step: int | None = None
        self.w_star: list[float] | None = None
        self.switch_calls = 0
        self.hv_weights = HypervolumeWeights(2, alpha=1.0)
        self.objective_names = ["accuracy", "tool_efficiency"]
        self.val_history: list[dict[str, Any]] = []
        self.train_history: list[dict[str, Any]] = []  # as run_state.RunState records it

    def _record(self, step: int) -> None:
        if not self.train_history or self.train_history[-1]["step"] < step:
            weights = self.hv_weights.weights.tolist()
            self.train_history.append({"step": step, "hv": self.hv_weights.hypervolume,
                                       "weights": weights})  # fmt: skip

    def on_train_start(self) -> None:
        self._record(self.global_step)

    def switch_to_stage2(self, step: int) -> None:
        self.switch_calls += 1
        if self.stage == 2:
            return
        self.stage, self.switch_step = 2, step
        self.w_star = self.hv_weights.weights.tolist()

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        s = self.global_step + 1
        self.hv_weights.step(torch.tensor([min(s, self.plateau_at) / 10, 0.5]))
        self.log("train/hv", self.hv_weights.hypervolume)
        self._record(s)  # the HV after s optimizer steps (this one is taken after the hook)
        return self.layer(batch).pow(2).mean()

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        pass

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        acc, calls = VAL_SCRIPT[len(self.val_history) % len(VAL_SCRIPT)]
        point = [acc, 1.0 - min(calls, TOOL_BUDGET) / TOOL_BUDGET]
        Y = torch.tensor([h["point"] for h in self.val_history] + [point], dtype=torch.float64)
        hv = hypervolume(Y[is_non_dominated(Y)], torch.zeros(2, dtype=torch.float64))
        self.val_history.append(
            {
                "step": self.global_step,
                "accuracy": acc,
                "tool_calls": calls,
                "tool_productivity": acc / calls,
                "hv": hv,
                "stage": self.stage,
                "weights": self.hv_weights.weights.tolist(),
                "point": point,
            }
        )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["standin"] = {
            "stage": self.stage,
            "switch_step": self.switch_step,
            "w_star": self.w_star,
            "hv_weights": self.hv_weights.state_dict(),
            "val_history": self.val_history,
            "train_history": self.train_history,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["standin"]
        self.stage, self.switch_step = state["stage"], state["switch_step"]
        self.w_star, self.val_history = state["w_star"], list(state["val_history"])
        self.train_history = list(state["train_history"])
        self.hv_weights.load_state_dict(state["hv_weights"])


class StopAt(pl.Callback):
    """Stop training after global step ``step`` (simulates an interrupted run)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step >= self.step:
            trainer.should_stop = True


def loader(n: int = 64) -> DataLoader:
    return DataLoader(torch.zeros(n, 2), batch_size=1)
