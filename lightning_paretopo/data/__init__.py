"""Task data: synthetic generators (arith, kbqa), real-dataset readers, and the
LightningDataModules that batch them (``datamodules``, ``datamodule_base``, ``sampler``).

Nothing here tokenizes: batches are lists of ``TaskExample``.
"""

from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.data.datamodule_base import TaskDataModule
from lightning_paretopo.data.datamodules import (
    ArithDataModule,
    FileTaskDataModule,
    KBQADataModule,
)
from lightning_paretopo.data.io import (
    DataFormatError,
    MissingDataFileError,
    load_records,
    write_jsonl,
)
from lightning_paretopo.data.kbqa import all_kbqa_questions, generate_kbqa
from lightning_paretopo.data.kbqa_world import KBWorld, build_world
from lightning_paretopo.data.readers import infer_kind, load_tasks
from lightning_paretopo.data.readers_math import read_gsm8k, read_math
from lightning_paretopo.data.readers_qa import (
    hotpotqa_corpus,
    read_qa,
    write_hotpotqa_corpus,
)
from lightning_paretopo.data.sampler import TaskStreamSampler, collate_tasks
from lightning_paretopo.data.splits import SPLITS, split_of

__all__ = [
    "SPLITS",
    "ArithDataModule",
    "DataFormatError",
    "FileTaskDataModule",
    "KBQADataModule",
    "KBWorld",
    "MissingDataFileError",
    "TaskDataModule",
    "TaskStreamSampler",
    "all_kbqa_questions",
    "build_world",
    "collate_tasks",
    "generate_arith",
    "generate_kbqa",
    "hotpotqa_corpus",
    "infer_kind",
    "load_records",
    "load_tasks",
    "read_gsm8k",
    "read_math",
    "read_qa",
    "split_of",
    "write_hotpotqa_corpus",
    "write_jsonl",
]
