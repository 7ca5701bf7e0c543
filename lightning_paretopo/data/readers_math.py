"""Readers for math word problems: GSM8K and MATH-style files (MATH, MATH-500, AIME, AMC).

Contract:
    ``read_gsm8k`` expects ``{"question", "answer"}`` where the answer ends in ``#### <final>``;
    the gold is the final number with thousands commas removed (``"#### 1,234"`` -> ``"1234"``);
    the worked solution before ``####`` goes to ``meta["solution"]``. Kind ``"gsm8k"``, tools
    ``("python",)``.

    ``read_math`` expects ``problem`` (or ``question``) and either ``answer`` or a ``solution``
    whose last ``\\boxed{...}`` (nested braces allowed) is the gold. Numeric ``answer`` fields
    (AMC stores floats) become strings with an integral ``.0`` dropped. Kind ``"math"``, tools
    ``("python",)``. ``meta`` keeps ``level``, ``subject`` (``subject`` or ``type``),
    ``unique_id`` and ``solution`` when present.

Both take a local json/jsonl/parquet path or a Hugging Face dataset id (``io.load_records``);
``split`` selects the HF split and labels the ids (``<kind>-<split or file stem>-<index>``).

Deliberately not done: answer normalisation beyond the above (checkers.math_equal does that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_paretopo.data.io import (
    load_records,
    require_field,
    split_label,
    take,
)
from lightning_paretopo.rewards.checkers import last_boxed
from lightning_paretopo.types import TaskExample


def gsm8k_final_answer(answer: str) -> str:
    """The final answer of a GSM8K ``answer`` field: the text after ``####``, commas removed."""
    final = answer.rsplit("####", 1)[-1] if "####" in answer else answer
    return final.strip().replace(",", "")


def read_gsm8k(
    source: str | Path,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """GSM8K tasks from a local file or HF id (``openai/gsm8k`` defaults to config ``"main"``)."""
    if hf_name is None and str(source) in ("openai/gsm8k", "gsm8k"):
        hf_name = "main"
    records = take(load_records(source, split, hf_name), limit)
    label = split_label(source, split)
    tasks = []
    for i, r in enumerate(records):
        raw = str(require_field(r, ("answer",), i, str(source)))
        gold = gsm8k_final_answer(raw)
        if not gold:
            raise ValueError(f"{source}: record {i} has an empty final answer after '####'")
        tasks.append(
            TaskExample(
                id=f"gsm8k-{label}-{i:05d}",
                kind="gsm8k",
                prompt=str(require_field(r, ("question",), i, str(source))).strip(),
                answer=gold,
                tools=("python",),
                meta={"solution": raw.rsplit("####", 1)[0].strip(), "source_index": i},
            )
        )
    return tasks


def _math_answer(record: dict[str, Any], index: int, source: str) -> str:
    answer = record.get("answer")
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    if answer not in (None, ""):
        return str(answer).strip()
    boxed = last_boxed(str(record.get("solution") or ""))
    if not boxed:
        raise ValueError(
            f"{source}: record {index} has no 'answer' field and no \\boxed{{}} in 'solution'"
        )
    return boxed


def read_math(
    source: str | Path,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """MATH / MATH-500 / AIME / AMC style tasks from a local file or HF id."""
    records = take(load_records(source, split, hf_name), limit)
    label = split_label(source, split)
    tasks = []
    for i, r in enumerate(records):
        meta: dict[str, Any] = {"source_index": i}
        for key, name in (("level", "level"), ("subject", "subject"), ("type", "subject")):
            if key in r and name not in meta:
                meta[name] = r[key]
        for key in ("unique_id", "solution"):
            if r.get(key):
                meta[key] = r[key]
        tasks.append(
            TaskExample(
                id=f"math-{label}-{i:05d}",
                kind="math",
                prompt=str(require_field(r, ("problem", "question"), i, str(source))).strip(),
                answer=_math_answer(r, i, str(source)),
                tools=("python",),
                meta=meta,
            )
        )
    return tasks
