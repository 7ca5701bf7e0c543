"""The DataModule base of the warm starts (``module.py``, ``chat.py``).

Contract: a subclass builds ``self.data`` (a ``TaskTraces``) in ``setup`` and saves the hparams
``batch_size`` and ``num_workers``; this base serves its traces as plain batches (lists of
``Trace``) and hands out the task's held-out problems, tools and protocol.
"""

from __future__ import annotations

from typing import Any

from lightning import LightningDataModule
from torch.utils.data import DataLoader

from lightning_paretopo.tools.registry import ToolSpecs
from lightning_paretopo.warmstart.task_traces import TaskTraces
from lightning_paretopo.warmstart.traces import Trace


class TraceDataModule(LightningDataModule):
    """What every warm-start DataModule shares: ``self.data`` (a ``TaskTraces``, built in
    ``setup``) served as plain batches of traces, and the task's held-out problems, tools and
    protocol. Subclasses build ``self.data`` and save ``batch_size`` / ``num_workers`` hparams."""

    data: TaskTraces | None

    def _loader(self, traces: list[Trace], shuffle: bool = False) -> DataLoader:
        return DataLoader(
            traces,
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            collate_fn=list,
            num_workers=self.hparams.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        """Plain shuffled batches. Length-grouped batches (fewer pad tokens) made each batch
        one behaviour or all facts, and the tiny policy then learned neither copying nor the
        tables within the budget, so they are not used."""
        return self._loader(self.data.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.data.val)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.data.test)

    def eval_tasks(self) -> list:
        """The ``n_eval`` held-out problems (test split) as ``TaskExample``s."""
        return self.data.eval_tasks

    def tool_specs(self) -> ToolSpecs:
        """The real tools of this task (``tools.ServesTools``), as the RL rollouts build them."""
        return self.data.tool_specs

    @property
    def protocol(self) -> Any:
        return self.data.protocol
