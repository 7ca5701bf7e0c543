"""``load_tasks``: one entry point for the real-dataset readers.

Contract: ``load_tasks(source, kind=None, limit=None, split=None)`` reads ``source`` (a local
json/jsonl/parquet path or a Hugging Face dataset id) with the reader of ``kind``. When ``kind``
is None it is inferred from the name (for a local path, its file name and parent folder; for a
dataset id, the whole id), first match wins:

    "gsm8k"                                                        -> gsm8k
    "hotpot", "2wiki", "musique", "bamboogle", "multihop",
    "triviaqa", "popqa", or "nq" as a whole word                   -> qa
    "math", "aime", "amc"                                          -> math

An unknown kind, or a name that matches nothing, raises ValueError naming the ``kind`` argument
and listing the valid kinds. A local path that does not exist raises ``MissingDataFileError``
(a ValueError and a FileNotFoundError) naming the path.

Deliberately not done: the synthetic families ("arith", "kbqa"), which are generated, not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lightning_paretopo.data.io import MissingDataFileError, is_local_source
from lightning_paretopo.data.readers_math import read_gsm8k, read_math
from lightning_paretopo.data.readers_qa import read_qa
from lightning_paretopo.types import TaskExample

READERS: dict[str, Callable[..., list[TaskExample]]] = {
    "gsm8k": read_gsm8k,
    "math": read_math,
    "qa": read_qa,
}
_QA_NAME = re.compile(
    r"hotpot|2wiki|musique|bamboogle|multihop|triviaqa|popqa|(?<![a-z])nq(?![a-z])"
)
_MATH_NAME = re.compile(r"math|aime|amc")


def infer_kind(source: str | Path) -> str | None:
    """The reader kind suggested by the name of ``source``, or None."""
    text = str(source)
    if is_local_source(text):
        path = Path(text)
        text = f"{path.parent.name}/{path.name}"
    text = text.lower()
    if "gsm8k" in text:
        return "gsm8k"
    if _QA_NAME.search(text):
        return "qa"
    if _MATH_NAME.search(text):
        return "math"
    return None


def load_tasks(
    source: str | Path,
    kind: str | None = None,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """Read tasks from ``source`` with the reader for ``kind`` (inferred when None).

    Args:
        source: local json/jsonl/parquet path, or a Hugging Face dataset id.
        kind: "gsm8k", "math" or "qa"; None infers it from the name.
        limit: keep the first ``limit`` records.
        split: the HF split to load; for local files only a label in the task ids.
        hf_name: the HF dataset config (GSM8K defaults to "main").
    """
    if kind is None:
        kind = infer_kind(source)
        if kind is None:
            raise ValueError(
                f"kind: cannot infer the task kind from source {str(source)!r}; "
                f"pass kind= one of {sorted(READERS)}"
            )
    if kind not in READERS:
        raise ValueError(f"kind must be one of {sorted(READERS)}, got {kind!r}")
    if is_local_source(source) and not Path(str(source)).expanduser().is_file():
        raise MissingDataFileError(f"source: data file not found: {source}")
    return READERS[kind](source, limit=limit, split=split, hf_name=hf_name)
