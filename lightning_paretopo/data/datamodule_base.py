"""``TaskDataModule``: the base of the DataModules that serve raw tasks to the RL module.

Contract:
    - A batch is a ``list[TaskExample]`` of B prompts (``batch_size``, per rank); nothing is
      tokenized. ``transfer_batch_to_device`` leaves ``TaskExample``s untouched (Lightning's
      default tries to rebuild dataclasses and fails on frozen ones) and moves any tensors.
    - Training draws from a seeded, endless, rank-sharded stream (``data.sampler``): ranks hold
      whole, disjoint prompts, so the G rollouts of a prompt and its group statistics stay on one
      rank. ``state_dict()`` holds the number of batches consumed; Lightning saves it in every
      checkpoint under the class name and calls ``load_state_dict`` after ``setup`` and before it
      asks for the train dataloader, so ``trainer.fit(ckpt_path=...)`` continues with exactly the
      batch an uninterrupted run would have seen next. Resuming with another global batch
      (B * world_size) continues after the same number of prompts, with a warning.
    - Validation and test sets are fixed and ordered (no shuffle). Under DDP Lightning shards
      them with its ``DistributedSampler`` (no shuffle, padded to equal length per rank).
    - ``tools`` (the registry names of the tools its tasks offer) and ``corpus_path`` (the
      passages the search tool indexes, written under ``data_dir`` by ``prepare_data``/``setup``
      when missing) are set at construction; ``tool_specs()`` (``tools.ServesTools``) says how
      to build them (registry name -> constructor arguments) for the module's rollouts.
      ``tools`` is what every task offers: ``setup`` sets each task's ``tools`` to the tags
      they answer (``tools.registry.markup_names``: ``retriever`` answers ``search``;
      ``offer_tools``), whatever its reader or generator put there, so the prompt never offers
      a tool the rollouts cannot run (``tools: [calculator]`` with GSM8K's reader, whose tasks
      name ``python``, offers the calculator only).
    - Bad arguments raise ValueError at construction (or in ``setup`` where the data must be
      read first) naming the field and the fix.

Deliberately not done: tokenization, curriculum or weighted sampling, on-the-fly generation
(the train set is drawn once; the stream reshuffles it on every pass).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from lightning import LightningDataModule
from torch.utils.data import DataLoader

from lightning_paretopo.data.io import write_jsonl
from lightning_paretopo.data.sampler import (
    STATE_KEYS,
    TaskStreamLoader,
    TaskStreamSampler,
    collate_tasks,
)
from lightning_paretopo.tools.registry import ToolSpecs, markup_names
from lightning_paretopo.types import TaskExample

log = logging.getLogger(__name__)


def check_size(field: str, value: int | None, minimum: int = 0) -> None:
    """Raise ValueError unless ``value`` is None or an int >= ``minimum``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{field} must be an integer or None, got {value!r}")
    if value is not None and value < minimum:
        raise ValueError(f"{field} must be >= {minimum}, got {value}; set a larger {field}")


def take_first(
    tasks: list[TaskExample], size: int | None, field: str, what: str
) -> list[TaskExample]:
    """The first ``size`` tasks (all when None); ValueError naming ``field`` when too few."""
    if size is None:
        return tasks
    if size > len(tasks):
        raise ValueError(
            f"{field}={size} exceeds the {len(tasks)} tasks of {what}; lower {field} "
            f"(or pass None to use them all)"
        )
    return tasks[:size]


def offer_tools(tasks: list[TaskExample], tools: tuple[str, ...]) -> list[TaskExample]:
    """``tasks`` with ``tools`` as each one's tools (unchanged tasks are kept as they are)."""
    return [t if t.tools == tools else replace(t, tools=tools) for t in tasks]


def write_atomic(records: list[dict], path: Path) -> Path:
    """Write jsonl to a temporary sibling, then rename it into place (safe across ranks)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_jsonl(records, tmp)
    os.replace(tmp, path)
    return path


class TaskDataModule(LightningDataModule):
    """Base DataModule: a resumable sharded train stream and fixed val/test sets of tasks.

    Subclasses set ``kind``, ``tools`` and ``corpus_path`` and implement ``build_splits``.

    Args:
        batch_size: prompts per optimizer step per rank (B); the G rollouts of each prompt are
            generated on that rank.
        val_size: validation tasks (None: the family's whole val split).
        test_size: test tasks (None: the family's whole test split).
        val_batch_size: prompts per validation/test batch; None uses ``batch_size``.
        seed: seeds the task draws and the order of the training stream.
        num_workers: DataLoader workers (tasks are small in-memory objects; 0 is usually best).
        data_dir: folder for generated files such as the search corpus; created when missing.
    """

    kind: str = ""

    def __init__(
        self,
        batch_size: int = 8,
        val_size: int | None = None,
        test_size: int | None = None,
        val_batch_size: int | None = None,
        seed: int = 0,
        num_workers: int = 0,
        data_dir: str = "data",
    ) -> None:
        super().__init__()
        check_size("batch_size", batch_size, 1)
        check_size("val_batch_size", val_batch_size, 1)
        check_size("val_size", val_size)
        check_size("test_size", test_size)
        check_size("num_workers", num_workers)
        self.save_hyperparameters()
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.data_dir = Path(data_dir)
        self.tools: tuple[str, ...] = ()
        self.corpus_path: Path | None = None
        self.splits: dict[str, list[TaskExample]] = {}
        self._sampler: TaskStreamSampler | None = None
        self._pending_state: dict[str, int] | None = None

    # -- what subclasses provide ------------------------------------------------------------
    def build_splits(self) -> dict[str, list[TaskExample]]:
        """The ``train``, ``val`` and ``test`` task lists, in their fixed order."""
        raise NotImplementedError

    def write_corpus(self) -> None:
        """Write ``corpus_path`` if it is missing or stale (default: nothing to write)."""

    def tool_specs(self) -> ToolSpecs:
        """The tools of ``tools``, registry name -> constructor arguments (``build_tools``)."""
        corpus = {"corpus_path": str(self.corpus_path)} if self.corpus_path is not None else {}
        return {name: dict(corpus) if name == "search" else {} for name in self.tools}

    # -- Lightning hooks ---------------------------------------------------------------------
    def prepare_data(self) -> None:
        self.write_corpus()

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.write_corpus()
            splits = self._checked(self.build_splits())
            offered = markup_names(self.tools)
            self.splits = {name: offer_tools(t, offered) for name, t in splits.items()}
            log.info("%s tasks: %s", self.kind, {name: len(t) for name, t in self.splits.items()})
        if stage in (None, "fit") and self._sampler is None:
            trainer = getattr(self, "trainer", None)
            rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
            self._sampler = TaskStreamSampler(
                len(self.splits["train"]), self.hparams.seed, self.batch_size, rank, world
            )
            if self._pending_state is not None:
                self._sampler.load_state_dict(self._pending_state)
                self._pending_state = None

    def _checked(self, splits: dict[str, list[TaskExample]]) -> dict[str, list[TaskExample]]:
        if not splits.get("train"):
            raise ValueError(f"{type(self).__name__}: the train split is empty; check the source")
        for name, tasks in splits.items():
            ids = [t.id for t in tasks]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{type(self).__name__}: duplicate task ids in the {name} split")
        return splits

    def train_dataloader(self) -> DataLoader:
        if self._sampler is None:
            self.setup("fit")
        return TaskStreamLoader(
            self.splits["train"],
            batch_size=self.batch_size,
            sampler=self._sampler,
            drop_last=True,
            collate_fn=collate_tasks,
            num_workers=self.hparams.num_workers,
        )

    def _eval_loader(self, split: str) -> DataLoader | list:
        if not self.splits:
            self.setup("validate" if split == "val" else "test")
        tasks = self.splits[split]
        if not tasks:
            return []  # Lightning skips the loop
        return DataLoader(
            tasks,
            batch_size=self.val_batch_size,
            shuffle=False,
            collate_fn=collate_tasks,
            num_workers=self.hparams.num_workers,
        )

    def val_dataloader(self) -> DataLoader | list:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader | list:
        return self._eval_loader("test")

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        """Lightning's default move, except that ``TaskExample``s pass through untouched.

        Plain lists, tuples and dicts are walked, so a module whose ``on_before_batch_transfer``
        tokenizes (and keeps the tasks beside the tensors) still gets its tensors moved.
        """
        if isinstance(batch, TaskExample):
            return batch
        if type(batch) in (list, tuple):
            return type(batch)(
                self.transfer_batch_to_device(x, device, dataloader_idx) for x in batch
            )
        if type(batch) is dict:
            return {
                k: self.transfer_batch_to_device(v, device, dataloader_idx)
                for k, v in batch.items()
            }
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    # -- data position -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, int]:
        """The training stream's position (``TaskStreamSampler.state_dict``)."""
        if self._sampler is None:
            return dict(self._pending_state or {})
        return self._sampler.state_dict()

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Restore the stream position (applied at ``setup`` when the stream is not built yet)."""
        missing = [k for k in STATE_KEYS if k not in state_dict]
        if missing:
            raise ValueError(f"data state is missing {missing}; got keys {sorted(state_dict)}")
        if self._sampler is None:
            self._pending_state = dict(state_dict)
        else:
            self._sampler.load_state_dict(state_dict)
