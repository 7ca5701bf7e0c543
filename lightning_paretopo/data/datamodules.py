"""The task families as DataModules: synthetic arith and kbqa, and real datasets from files.

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
from pathlib import Path
from typing import Any

from lightning_paretopo.data.arith import TIERS as ARITH_TIERS
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.datamodule_base import (
    TaskDataModule,
    check_size,
    take_first,
    write_atomic,
)
from lightning_paretopo.data.io import MissingDataFileError, is_local_source, read_records
from lightning_paretopo.data.kbqa import TIERS as KBQA_TIERS
from lightning_paretopo.data.kbqa import generate_kbqa
from lightning_paretopo.data.kbqa_world import build_world
from lightning_paretopo.data.readers import READERS, infer_kind, load_tasks
from lightning_paretopo.data.readers_qa import hotpotqa_corpus
from lightning_paretopo.data.splits import DEFAULT_SPLIT_FRACTIONS, check_fractions, split_of
from lightning_paretopo.tools.registry import TOOL_CLASSES, ToolSpecs, unknown_tools
from lightning_paretopo.types import TaskExample

__all__ = ["ArithDataModule", "FileTaskDataModule", "KBQADataModule", "TaskDataModule"]

log = logging.getLogger(__name__)

KIND_TOOLS: dict[str, tuple[str, ...]] = {
    "gsm8k": ("python",),
    "math": ("python",),
    "qa": ("search",),
}
"""Default tools of each reader kind (the ``tools`` the readers put on their tasks)."""


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


def _normalise(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def _check_local(field: str, source: str | None) -> None:
    if source is not None and is_local_source(source) and not Path(source).expanduser().is_file():
        raise MissingDataFileError(
            f"{field}: data file not found: {source}; fix the path (or give a Hugging Face id)"
        )


class FileTaskDataModule(TaskDataModule):
    """Real datasets read by ``data.load_tasks``: GSM8K, MATH-style, multi-hop QA.

    Each source is a local json/jsonl/parquet file or a Hugging Face dataset id. A split without
    a source of its own is carved out of ``train_source``: a record goes to the split its
    question hashes to (``split_of(prompt, holdout_fractions)``) when that split has no source,
    else it stays in training. Training tasks whose question (case and spacing ignored) is also
    in the val or test set are dropped. Sizes keep the first tasks in file order.

    Args:
        train_source: training file or HF dataset id.
        val_source: validation file or HF id; None carves it out of ``train_source``.
        test_source: test file or HF id; None carves it out of ``train_source``.
        kind: reader: "gsm8k", "math" or "qa"; None infers it from ``train_source``'s name.
        train_size: first training tasks to keep (None: all).
        val_size: first validation tasks to keep (None: all).
        test_size: first test tasks to keep (None: all).
        hf_name: the HF dataset config (GSM8K: "main").
        hf_splits: HF split names of the (train, val, test) sources; for local files they only
            label the task ids.
        holdout_fractions: (train, val, test) hash fractions used to carve missing splits.
        corpus_source: an IRCoT QA file (with ``contexts``) whose paragraphs become the search
            corpus, written to ``<data_dir>/<file stem>-corpus.jsonl`` when missing.
        corpus_path: a ready passages jsonl (``{"id", "title", "text"}`` per line).
        tools: tool registry names; None: the kind's default (``KIND_TOOLS``). Every task
            offers these (the reader's own choice is replaced; ``TaskDataModule.setup``). Use
            ``["retriever"]`` to answer search calls from a retrieval server instead.
        **kwargs: the common arguments of ``TaskDataModule``.
    """

    def __init__(
        self,
        train_source: str,
        val_source: str | None = None,
        test_source: str | None = None,
        kind: str | None = None,
        train_size: int | None = None,
        val_size: int | None = None,
        test_size: int | None = None,
        hf_name: str | None = None,
        hf_splits: tuple[str, str, str] = ("train", "validation", "test"),
        holdout_fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS,
        corpus_source: str | None = None,
        corpus_path: str | None = None,
        tools: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(val_size=val_size, test_size=test_size, **kwargs)
        check_size("train_size", train_size, 1)
        kind = kind if kind is not None else infer_kind(train_source)
        if kind not in READERS:
            raise ValueError(
                f"kind must be one of {sorted(READERS)}, got {kind!r}"
                + ("" if kind else f" (cannot infer it from train_source {train_source!r})")
            )
        self.kind = kind
        check_fractions(tuple(holdout_fractions))
        sources = {"train_source": train_source, "val_source": val_source}
        sources |= {"test_source": test_source, "corpus_source": corpus_source}
        for field, source in (sources | {"corpus_path": corpus_path}).items():
            _check_local(field, source)
        self.tools = tuple(tools) if tools is not None else KIND_TOOLS[kind]
        unknown = unknown_tools(self.tools)
        if unknown:
            raise ValueError(f"tools: unknown {unknown}; choose from {sorted(TOOL_CLASSES)}")
        if corpus_source is not None and corpus_path is not None:
            raise ValueError("pass corpus_source (an IRCoT file) or corpus_path, not both")
        if corpus_path is not None:
            self.corpus_path = Path(corpus_path).expanduser()
        elif corpus_source is not None:
            self.corpus_path = self.data_dir / f"{Path(corpus_source).stem}-corpus.jsonl"
        if "search" in self.tools and self.corpus_path is None:
            raise ValueError(
                "tools include 'search' (BM25 over a local corpus) but neither corpus_source nor "
                "corpus_path is set; pass one, or tools=['retriever'] for a retrieval server"
            )

    def write_corpus(self) -> None:
        source = self.hparams.corpus_source
        if source is None or self.corpus_path.is_file():
            return
        self.corpus_path.parent.mkdir(parents=True, exist_ok=True)
        passages = hotpotqa_corpus(source)
        write_atomic(passages, self.corpus_path)
        log.info("wrote %d passages from %s to %s", len(passages), source, self.corpus_path)

    def _load(self, split: str) -> list[TaskExample]:
        hp = self.hparams
        index = ("train", "val", "test").index(split)
        source = hp[f"{split}_source"]
        return load_tasks(source, self.kind, split=hp.hf_splits[index], hf_name=hp.hf_name)

    def build_splits(self) -> dict[str, list[TaskExample]]:
        hp = self.hparams
        has_source = {s: hp[f"{s}_source"] is not None for s in ("val", "test")}
        held = {s: self._load(s) if has_source[s] else [] for s in ("val", "test")}
        train: list[TaskExample] = []
        for task in self._load("train"):
            split = split_of(task.prompt, tuple(hp.holdout_fractions))
            (train if split == "train" or has_source[split] else held[split]).append(task)
        for s in ("val", "test"):
            what = f"the {s} split ({hp[f'{s}_source'] or 'carved out of ' + hp.train_source})"
            held[s] = take_first(held[s], hp[f"{s}_size"], f"{s}_size", what)
        seen = {_normalise(t.prompt) for tasks in held.values() for t in tasks}
        kept = [t for t in train if _normalise(t.prompt) not in seen]
        if len(kept) < len(train):
            log.info("dropped %d training tasks also in val/test", len(train) - len(kept))
        kept = take_first(
            kept, hp.train_size, "train_size", f"the train split of {hp.train_source}"
        )
        return {"train": kept, **held}
