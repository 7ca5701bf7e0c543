"""The ordered set of objectives: reward heads -> the reward matrix R [N, K].

Contract:
    ``RewardHeads(heads)`` fixes the column order k = 0..K-1 of every [N, K] / [K] tensor
    downstream (weights, archive points, attribution masks). ``heads(batch, tasks)`` returns
    ``(R_raw, R_norm)``, both float64 [N, K] on ``batch.action_mask``'s device, with
    ``R_norm = normalize_rewards(R_raw, lo, hi)``; NaN ("not applicable") stays NaN in both.

    Checked on every call, each failure a ValueError naming the field or head:
    ``len(tasks) == N``; N is a multiple of ``batch.group_size``; the G rows of a group share one
    task (each task repeated G times, not the list tiled); each head returns [N] values with no
    +-inf; a head's NaN covers whole groups (all G rows of a group or none of them).

    A head with ``reads`` (S8's ``RelativeToolEfficiency`` reads ``accuracy``) gets the read
    head's raw values; the read head must be in the set and read nothing itself. Called with
    ``learn=True`` (training batches), each such head first ``observe``s the batch (its running
    state); ``state_dict`` / ``load_state_dict`` carry every head's state by name.

    ``from_names(["accuracy", "tool_efficiency"], tool_budget=4)`` builds the built-in heads by
    name. In LightningCLI YAML the same set is ``class_path: lightning_paretopo.rewards.RewardHeads``
    with ``init_args.heads`` a list of ``class_path``/``init_args`` heads, user heads included.

Deliberately not done: no weighting or scalarisation (``advantages/``), no logging (the module
logs ``train/reward/<name>`` from R_raw), no caching across calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from lightning_paretopo.advantages import attribution_masks, normalize_rewards
from lightning_paretopo.advantages.group import as_groups
from lightning_paretopo.rewards.base import RewardHead, check_tasks
from lightning_paretopo.rewards.heads import (
    HEADS,
    Accuracy,
    Brevity,
    ToolEfficiency,
    link_answer_formats,
)
from lightning_paretopo.rewards.relative import RelativeToolEfficiency
from lightning_paretopo.types import RolloutBatch, TaskExample


class RewardHeads:
    """An ordered collection of reward heads with distinct names (K >= 1).

    Args:
        heads: the objectives, in column order.
    """

    def __init__(self, heads: list[RewardHead]):
        if not heads:
            raise ValueError("heads must hold at least one RewardHead, got an empty list")
        for i, head in enumerate(heads):
            if not isinstance(head, RewardHead):
                raise ValueError(
                    f"heads[{i}] must be a RewardHead instance, got {type(head).__name__}"
                )
        names = [h.name for h in heads]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"heads: duplicate name(s) {duplicates} in {names}; give each head a distinct "
                f"name= (e.g. name='accuracy_f1')"
            )
        for head in heads:
            if head.reads is None:
                continue
            read = next((h for h in heads if h.name == head.reads), None)
            if read is None or read is head or read.reads is not None:
                raise ValueError(
                    f"heads: {head.name!r} reads objective {head.reads!r}, which must be another "
                    f"head of this set that reads nothing itself (have {names}); add an "
                    f"{head.reads!r} head or set the reading head's name of it"
                )
        link_answer_formats(heads)  # one reading of final answers for the whole set
        self.heads: tuple[RewardHead, ...] = tuple(heads)

    @classmethod
    def from_names(
        cls,
        names: Sequence[str],
        tool_budget: int = 4,
        max_tokens: int | None = None,
        accuracy_mode: str = "exact",
    ) -> RewardHeads:
        """Built-in heads by name (see ``HEADS``), in the given order.

        Args:
            names: e.g. ``["accuracy", "tool_efficiency"]``.
            tool_budget: ``ToolEfficiency``'s budget M.
            max_tokens: ``Brevity``'s max_tokens; required when "brevity" is named.
            accuracy_mode: ``Accuracy``'s mode, "exact" or "f1".
        """
        known = [*HEADS, "relative_tool_efficiency"]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"names: unknown objective(s) {unknown}; known names are {known}")
        heads: list[RewardHead] = []
        for name in names:
            if name == "accuracy":
                heads.append(Accuracy(mode=accuracy_mode))
            elif name == "tool_efficiency":
                heads.append(ToolEfficiency(budget=tool_budget))
            elif name == "relative_tool_efficiency":
                heads.append(RelativeToolEfficiency())
            elif name == "brevity":
                if max_tokens is None:
                    raise ValueError("max_tokens is required for 'brevity'; pass max_tokens=<int>")
                heads.append(Brevity(max_tokens=max_tokens))
            else:
                heads.append(HEADS[name]())
        return cls(heads)

    @property
    def names(self) -> list[str]:
        """Objective names in column order."""
        return [h.name for h in self.heads]

    @property
    def lo(self) -> Tensor:
        """[K] lower bounds (float64)."""
        return torch.tensor([h.lo for h in self.heads], dtype=torch.float64)

    @property
    def hi(self) -> Tensor:
        """[K] upper bounds (float64)."""
        return torch.tensor([h.hi for h in self.heads], dtype=torch.float64)

    @property
    def attributions(self) -> list[str]:
        """Each objective's token attribution ("all" | "tool_turns"), in column order."""
        return [h.attribution for h in self.heads]

    @property
    def gated(self) -> list[bool]:
        """Each objective's ``gated`` flag (ALGORITHM.md S5), in column order."""
        return [h.gated for h in self.heads]

    def __len__(self) -> int:
        return len(self.heads)

    def __iter__(self) -> Iterator[RewardHead]:
        return iter(self.heads)

    def __repr__(self) -> str:
        return f"RewardHeads({list(self.heads)!r})"

    def index(self, name: str) -> int:
        """Column of the objective called ``name``."""
        if name not in self.names:
            raise ValueError(f"name {name!r} is not an objective here; have {self.names}")
        return self.names.index(name)

    def masks(self, batch: RolloutBatch) -> Tensor:
        """[N, K, T] token attribution masks of the batch, in column order."""
        return attribution_masks(batch.action_mask, batch.tool_turn_mask(), self.attributions)

    def __call__(
        self,
        batch: RolloutBatch,
        tasks: Sequence[TaskExample] | None = None,
        learn: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """Score a rollout batch.

        Args:
            batch: N rows, groups of ``batch.group_size`` contiguous rows.
            tasks: one task per row (each task repeated group_size times, in order); None:
                the batch's own ``tasks`` (the engine records them).
            learn: a training batch: stateful heads ``observe`` it before scoring.

        Returns:
            ``(R_raw, R_norm)``: [N, K] raw and normalised rewards, float64, NaN = not applicable.
        """
        if tasks is None:
            if not batch.tasks:
                raise ValueError("RewardHeads: the batch carries no tasks; pass tasks=")
            tasks = batch.tasks
        check_tasks(batch, tasks)
        _check_groups_share_tasks(batch, tasks)
        plain = {h.name: self._column(h, batch, tasks) for h in self.heads if h.reads is None}
        for head in self.heads:
            if head.reads is not None:
                if learn:
                    head.observe(batch, tasks, plain[head.reads])
                plain[head.name] = self._column(head, batch, tasks, plain[head.reads])
        columns = [plain[h.name] for h in self.heads]
        R_raw = torch.stack(columns, dim=1)  # [N, K]
        R_norm = normalize_rewards(R_raw, self.lo, self.hi)  # [N, K]
        return R_raw, R_norm

    def state_dict(self) -> dict[str, dict]:
        """{head name: its state} for the heads that keep state across calls."""
        return {h.name: state for h in self.heads if (state := h.state_dict())}

    def load_state_dict(self, state: dict[str, dict]) -> None:
        """Restore ``state_dict``; a head named there but missing here is an error."""
        unknown = sorted(set(state) - set(self.names))
        if unknown:
            raise ValueError(
                f"reward head state for {unknown}, but the objectives are {self.names}: the "
                f"checkpoint was made with other objectives"
            )
        for head in self.heads:
            if head.name in state:
                head.load_state_dict(state[head.name])

    @staticmethod
    def _column(
        head: RewardHead,
        batch: RolloutBatch,
        tasks: Sequence[TaskExample],
        given: Tensor | None = None,
    ) -> Tensor:
        values = head(batch, tasks, given)  # [N]
        if values.shape != (len(batch),):
            raise ValueError(
                f"head {head.name!r} returned shape {tuple(values.shape)}, expected [N] = "
                f"[{len(batch)}]"
            )
        if bool(torch.isinf(values).any()):
            rows = torch.isinf(values).nonzero().flatten().tolist()
            raise ValueError(
                f"head {head.name!r} returned +-inf at rows {rows}; return a finite value, or "
                f"NaN where the objective does not apply"
            )
        nan = as_groups(torch.isnan(values), batch.group_size, f"head {head.name!r} output")
        partial = (nan.any(dim=1) & ~nan.all(dim=1)).nonzero().flatten().tolist()  # [B] -> groups
        if partial:
            G = batch.group_size
            raise ValueError(
                f"head {head.name!r} gave NaN to only some rows of group(s) {partial} "
                f"(group_size={G}); NaN means 'not applicable to the task', so it must cover all "
                f"rows of a group or none"
            )
        return values  # [N]


def _check_groups_share_tasks(batch: RolloutBatch, tasks: Sequence[TaskExample]) -> None:
    G = batch.group_size
    as_groups(batch.action_mask, G, "batch.action_mask")  # N must be a multiple of G
    for row in range(len(tasks)):
        first = row - row % G
        if tasks[row] is not tasks[first] and tasks[row] != tasks[first]:
            raise ValueError(
                f"tasks[{row}] (id {tasks[row].id!r}) differs from tasks[{first}] "
                f"(id {tasks[first].id!r}) in group {row // G}: repeat each task group_size={G} "
                f"times in order ([t for t in tasks for _ in range(G)]), do not tile the list"
            )


__all__ = ["RewardHeads"]
