"""ALGORITHM.md S8: ``RelativeToolEfficiency``, the paper's reported efficiency reward.

Contract (m = ``batch.tool_calls``, valid or not; bounds [0, 1]; attribution "tool_turns";
gated, like ``ToolEfficiency``):

    r_tool = exp(-alpha * |m - n*|), alpha = 0.5 [ours; the value is not reported],

with n* per prompt (``TaskExample.id``): the running minimum of the calls of every correct
rollout of that prompt seen in training; before any, the fewest calls among the group's correct
rollouts; with none at all, n* = 0. "Correct" is the read head's verdict (``reads``, default
``"accuracy"``, through ``base.is_correct``), so there is one definition of it.

``observe`` (training batches only, called by ``RewardHeads(..., learn=True)`` before scoring)
folds the batch's correct rollouts into the running minima; evaluation batches read them but
never change them. ``state_dict`` holds the table {prompt id: n*}, checkpointed with the run.

Deliberately not done: no synchronisation across DDP ranks; each process keeps the minima of
the prompts it trained on, and the checkpoint (written by rank 0) holds rank 0's table, so a
resumed multi-process run restarts the other ranks' prompts from their group's fewest calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lightning_paretopo.rewards.base import RewardHead, is_correct
from lightning_paretopo.types import RolloutBatch, TaskExample


class RelativeToolEfficiency(RewardHead):
    """exp(-alpha |m - n*|) with n* the fewest calls that solved the prompt (module docstring).

    Args:
        alpha: decay per call away from n* (> 0).
        accuracy: name of the objective whose verdict says which rollouts are correct.
        name: the objective's key.
    """

    def __init__(
        self,
        alpha: float = 0.5,
        accuracy: str = "accuracy",
        name: str = "relative_tool_efficiency",
    ):
        super().__init__(name, lo=0.0, hi=1.0, attribution="tool_turns", gated=True)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
            raise ValueError(f"alpha must be a number > 0 (decay per call), got {alpha!r}")
        if not math.isfinite(alpha):
            raise ValueError(f"alpha must be finite, got {alpha!r}")
        self.alpha = float(alpha)
        self.reads = accuracy
        self.fewest: dict[str, int] = {}  # prompt id -> running n*

    def compute(self, batch: RolloutBatch, tasks: Sequence[TaskExample]) -> Tensor:
        raise ValueError(
            f"head {self.name!r} needs the {self.reads!r} objective's verdict; put it in a "
            f"RewardHeads with an objective named {self.reads!r}"
        )

    def _group_fewest(self, calls: list[int], correct: list[bool], G: int) -> list[int | None]:
        """The fewest calls among each group's correct rows (None where none is correct)."""
        out: list[int | None] = []
        for start in range(0, len(calls), G):
            pairs = zip(calls[start : start + G], correct[start : start + G], strict=True)
            solved = [c for c, ok in pairs if ok]
            out.append(min(solved) if solved else None)
        return out

    def _groups(self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor):
        calls = [int(c) for c in batch.tool_calls.tolist()]
        correct = is_correct(given.detach().cpu()).tolist()
        G = batch.group_size
        ids = [tasks[start].id for start in range(0, len(tasks), G)]
        return calls, ids, self._group_fewest(calls, correct, G), G

    def observe(self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor) -> None:
        _, ids, fewest, _ = self._groups(batch, tasks, given)
        for task_id, n in zip(ids, fewest, strict=True):
            if n is not None:
                self.fewest[task_id] = min(n, self.fewest.get(task_id, n))

    def compute_given(
        self, batch: RolloutBatch, tasks: Sequence[TaskExample], given: Tensor
    ) -> Tensor:
        calls, ids, fewest, G = self._groups(batch, tasks, given)
        n_star = []
        for task_id, n in zip(ids, fewest, strict=True):
            star = self.fewest.get(task_id, n if n is not None else 0)
            n_star += [star] * G
        m = torch.tensor(calls, dtype=torch.float64)  # [N]
        n = torch.tensor(n_star, dtype=torch.float64)  # [N]
        return torch.exp(-self.alpha * (m - n).abs()).to(batch.action_mask.device)  # [N]

    def state_dict(self) -> dict:
        return {"fewest": dict(self.fewest)}

    def load_state_dict(self, state: dict) -> None:
        self.fewest = {str(k): int(v) for k, v in state["fewest"].items()}


__all__ = ["RelativeToolEfficiency"]
