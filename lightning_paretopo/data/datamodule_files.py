"""``FileTaskDataModule``: real datasets from local files (GSM8K, MATH, multi-hop QA), as tasks.

Contract (see ``datamodule_base`` for batching, the resumable stream and the checkpointed
position): the records of ``train_source`` (and ``val_source`` / ``test_source``, or val and
test carved out of train by question hash, ``splits``) are read by the reader of ``kind``
(``readers``); held-out questions are dropped from train (normalised prompt); ``tools`` are the
kind's defaults (``KIND_TOOLS``) unless given, and a QA corpus (``corpus_source``, an IRCoT
file, or ``corpus_path``) backs the search tool.

Deliberately not done: downloading anything (sources are local paths).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lightning_paretopo.data.datamodule_base import (
    TaskDataModule,
    check_size,
    take_first,
    write_atomic,
)
from lightning_paretopo.data.io import MissingDataFileError, is_local_source
from lightning_paretopo.data.readers import READERS, infer_kind, load_tasks
from lightning_paretopo.data.readers_qa import hotpotqa_corpus
from lightning_paretopo.data.splits import DEFAULT_SPLIT_FRACTIONS, check_fractions, split_of
from lightning_paretopo.tools.registry import TOOL_CLASSES, unknown_tools
from lightning_paretopo.types import TaskExample

log = logging.getLogger(__name__)

KIND_TOOLS: dict[str, tuple[str, ...]] = {
    "gsm8k": ("python",),
    "math": ("python",),
    "qa": ("search",),
}
"""Default tools of each reader kind (the ``tools`` the readers put on their tasks)."""


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
