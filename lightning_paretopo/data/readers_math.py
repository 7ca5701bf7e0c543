"""Readers for math word problems: GSM8K and MATH-style files (MATH, MATH-500, AIME, AMC).

Contract:
    ``read_gsm8k`` expects ``{"question", "answer"}`` where the answer ends in ``#### <final>``;
    the gold is the final number with thousands commas removed (``"#### 1,234"`` -> ``"1234"``);
    the worked solution before ``####`` goes to ``meta["solution"]``. Kind ``"gsm8k"``, tools
    ``("python",)``. An answer without ``####``, or with nothing after it, raises
    ``DataFormatError`` naming the file and line (never a guessed gold).

    ``read_math`` expects ``problem`` (or ``question``) and either ``answer`` or a ``solution``
    whose last ``\\boxed{...}`` (nested braces allowed) is the gold. Numeric ``answer`` fields
    (AMC stores floats) become strings with an integral ``.0`` dropped. Kind ``"math"``, tools
    ``("python",)``. ``meta`` keeps ``level``, ``subject`` (``subject`` or ``type``),
    ``unique_id`` and ``solution`` when present.

Both take a local json/jsonl/parquet path or a Hugging Face dataset id (``io.load_located``);
``split`` selects the HF split and labels the ids (``<kind>-<split or file stem>-<index>``).
Errors name the record's place (``"<path>, line <n>"``, ``io.Located``) and the fix.

Deliberately not done: answer normalisation beyond the above (checkers.math_equal does that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_paretopo.data.io import (
    DataFormatError,
    Located,
    load_located,
    require_field,
    split_label,
    take,
)
from lightning_paretopo.rewards.checkers import last_boxed
from lightning_paretopo.types import TaskExample

GSM8K_FIX = (
    "GSM8K answers end in a line '#### <final answer>'; add it, or read the file with "
    "kind='math' (a \\boxed{} or 'answer' field) or kind='qa' if it is not GSM8K"
)
GSM8K_FIELDS_FIX = (
    "a GSM8K record has 'question' and 'answer' (ending in '#### <final answer>'); fix the "
    "record, or pass the kind= this file belongs to"
)


def gsm8k_final_answer(answer: str, where: str = "answer") -> str:
    """The final answer of a GSM8K ``answer`` field: the text after ``####``, commas removed.

    Raises DataFormatError (naming ``where``) when there is no ``####`` or nothing after it.
    """
    if "####" not in answer:
        raise DataFormatError(f"{where}: the GSM8K answer has no '####' marker; {GSM8K_FIX}")
    final = answer.rsplit("####", 1)[-1].strip().replace(",", "")
    if not final:
        raise DataFormatError(f"{where}: the GSM8K answer is empty after '####'; {GSM8K_FIX}")
    return final


def read_gsm8k(
    source: str | Path,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """GSM8K tasks from a local file or HF id (``openai/gsm8k`` defaults to config ``"main"``)."""
    if hf_name is None and str(source) in ("openai/gsm8k", "gsm8k"):
        hf_name = "main"
    records = take(load_located(source, split, hf_name), limit)
    label = split_label(source, split)
    tasks = []
    for i, located in enumerate(records):
        raw = str(require_field(located, ("answer",), GSM8K_FIELDS_FIX))
        tasks.append(
            TaskExample(
                id=f"gsm8k-{label}-{i:05d}",
                kind="gsm8k",
                prompt=str(require_field(located, ("question",), GSM8K_FIELDS_FIX)).strip(),
                answer=gsm8k_final_answer(raw, located.where),
                tools=("python",),
                meta={"solution": raw.rsplit("####", 1)[0].strip(), "source_index": i},
            )
        )
    return tasks


def _math_answer(located: Located) -> str:
    record = located.record
    answer = record.get("answer")
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    if answer not in (None, ""):
        return str(answer).strip()
    boxed = last_boxed(str(record.get("solution") or ""))
    if not boxed:
        raise DataFormatError(
            f"{located.where}: the record has no 'answer' field and no \\boxed{{}} in "
            "'solution'; add one, or read the file with the kind it belongs to (kind='gsm8k' "
            "or 'qa')"
        )
    return boxed


def read_math(
    source: str | Path,
    limit: int | None = None,
    split: str | None = None,
    hf_name: str | None = None,
) -> list[TaskExample]:
    """MATH / MATH-500 / AIME / AMC style tasks from a local file or HF id."""
    records = take(load_located(source, split, hf_name), limit)
    label = split_label(source, split)
    tasks = []
    for i, located in enumerate(records):
        r = located.record
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
                prompt=str(require_field(located, ("problem", "question"))).strip(),
                answer=_math_answer(located),
                tools=("python",),
                meta=meta,
            )
        )
    return tasks
