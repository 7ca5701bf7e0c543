"""The synthetic task families as DataModules: arith and kbqa (files: ``datamodule_files``).

Contract (see ``datamodule_base`` for batching, the resumable stream and the checkpointed
position): each class builds fixed ``train``/``val``/``test`` task lists and sets ``tools`` and,
for search tasks, ``corpus_path``. Held-out sets are disjoint from training:

    family                 val / test come from                     disjoint by
    ArithDataModule        generate_arith(split="val"/"test")       expression hash (split_of)
    KBQADataModule         generate_kbqa(split="val"/"test")        question hash (split_of)
    FileTaskDataModule     val_source / test_source, or carved      question hash of the carved
                           out of train_source                      records; overlaps dropped

Deliberately not done: mixing task families in one stream; downloading corpora.
"""

from __future__ import annotations

import logging
from typing import Any

from lightning_paretopo.data.arith import TIERS as ARITH_TIERS
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.datamodule_base import (
    TaskDataModule,
    check_size,
    take_first,
    write_atomic,
)
from lightning_paretopo.data.datamodule_files import FileTaskDataModule
from lightning_paretopo.data.io import read_records
from lightning_paretopo.data.kbqa import TIERS as KBQA_TIERS
from lightning_paretopo.data.kbqa import generate_kbqa
from lightning_paretopo.data.kbqa_world import build_world
from lightning_paretopo.tools.registry import ToolSpecs
from lightning_paretopo.types import TaskExample

__all__ = ["ArithDataModule", "FileTaskDataModule", "KBQADataModule", "TaskDataModule"]

log = logging.getLogger(__name__)


class ArithDataModule(TaskDataModule):
    """Synthetic arithmetic (``data.arith``) with the calculator tool.

    With the same ``seed`` the test set is exactly the warm start's 500 held-out problems
    (``generate_arith(500, seed, split="test")``).

    Args:
        train_size: training problems (train split; i.i.d. draws, so easy ones repeat).
        val_size: validation problems (val split).
        test_size: held-out problems (test split).
        tiers: difficulty tiers to draw from (subset of ``("easy", "medium", "hard")``).
        tier_weights: relative weight per tier (default: uniform).
        eval_distinct: keep each expression once in val/test. This shifts the tier mix towards
            hard (the easy tier's test split holds only 19 distinct expressions).
        train_seed: seed of the training draws (None: ``seed``). The warm start draws its SFT
            problems from the train split with its own seed, so with the same seed RL would
            replay the SFT problems in order; a different ``train_seed`` gives fresh draws
            while val/test stay the warm start's (they follow ``seed``).
        **kwargs: the common arguments of ``TaskDataModule``.
    """

    kind = "arith"

    def __init__(
        self,
        train_size: int = 10000,
        val_size: int = 256,
        test_size: int = 500,
        tiers: tuple[str, ...] = ARITH_TIERS,
        tier_weights: tuple[float, ...] | None = None,
        eval_distinct: bool = False,
        train_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(val_size=val_size, test_size=test_size, **kwargs)
        check_size("train_size", train_size, 1)
        if val_size is None or test_size is None:
            raise ValueError("val_size and test_size must be numbers for arith (draws are i.i.d.)")
        generate_arith(0, tiers=tiers, tier_weights=tier_weights)  # validates tiers and weights
        self.tools = ("calculator",)

    def _draw(self, n: int, split: str, seed: int | None = None) -> list[TaskExample]:
        hp = self.hparams
        seed = hp.seed if seed is None else seed
        return generate_arith(n, seed, hp.tiers, hp.tier_weights, split=split)

    def _eval_split(self, split: str, size: int) -> list[TaskExample]:
        if not self.hparams.eval_distinct:
            return self._draw(size, split)
        draws = self._draw(4 * size, split)
        first: dict[str, TaskExample] = {}
        for task in draws:
            first.setdefault(task.meta["expression"], task)
        if len(first) < size:
            raise ValueError(
                f"{split}_size={size} exceeds the {len(first)} distinct {split}-split problems "
                f"found in {len(draws)} draws of tiers {tuple(self.hparams.tiers)}; lower "
                f"{split}_size or set eval_distinct=False"
            )
        return list(first.values())[:size]

    def build_splits(self) -> dict[str, list[TaskExample]]:
        hp = self.hparams
        return {
            "train": self._draw(hp.train_size, "train", hp.train_seed),
            "val": self._eval_split("val", hp.val_size),
            "test": self._eval_split("test", hp.test_size),
        }


class KBQADataModule(TaskDataModule):
    """Synthetic 1/2-hop questions over a made-up world (``data.kbqa``) with the search tool.

    The world is fixed by ``world_seed`` (not ``seed``), so it stays the one the policy was
    warm-started on; its corpus is written to ``<data_dir>/kbqa-world<world_seed>-corpus.jsonl``.
    With the default world the pools are 600 train, 91 val and 61 test questions.

    Args:
        train_size: training questions sampled from the train pool (None: all of it).
        val_size: validation questions, a seeded sample of the val pool (None: all, in order).
        test_size: test questions, a seeded sample of the test pool (None: all, in order).
        world_seed: seed of ``build_world``.
        hops: hop counts to keep (subset of (1, 2)).
        tiers: tiers to keep (subset of ``("known", "unknown", "mixed")``).
        search_k: passages returned per search call; keep it equal to the warm start's
            ``search_k`` so the policy sees observations shaped like its training traces.
        **kwargs: the common arguments of ``TaskDataModule``.
    """

    kind = "kbqa"

    def __init__(
        self,
        train_size: int | None = None,
        val_size: int | None = None,
        test_size: int | None = None,
        world_seed: int = 0,
        hops: tuple[int, ...] = (1, 2),
        tiers: tuple[str, ...] = KBQA_TIERS,
        search_k: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(val_size=val_size, test_size=test_size, **kwargs)
        check_size("train_size", train_size, 1)
        check_size("search_k", search_k, 1)
        self.search_k = search_k
        self.world = build_world(world_seed)
        for split, size in [("train", train_size), ("val", val_size), ("test", test_size)]:
            pool = generate_kbqa(self.world, None, split=split, hops=hops, tiers=tiers)
            what = f"the kbqa {split} pool (hops={tuple(hops)}, tiers={tuple(tiers)})"
            take_first(pool, size, f"{split}_size", what)
        self.tools = ("search",)
        self.corpus_path = self.data_dir / f"kbqa-world{world_seed}-corpus.jsonl"

    def write_corpus(self) -> None:
        passages = self.world.passages()
        path = self.corpus_path
        if path.is_file() and read_records(path) == passages:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(passages, path)
        log.info("wrote the kbqa corpus (%d passages) to %s", len(passages), path)

    def tool_specs(self) -> ToolSpecs:
        return {"search": {"corpus_path": str(self.corpus_path), "k": self.search_k}}

    def build_splits(self) -> dict[str, list[TaskExample]]:
        hp = self.hparams
        sizes = {"train": hp.train_size, "val": hp.val_size, "test": hp.test_size}
        return {
            split: generate_kbqa(
                self.world, sizes[split], hp.seed, split=split, hops=hp.hops, tiers=hp.tiers
            )
            for split in sizes
        }
