"""Reward heads (objectives -> the reward matrix R [N, K], NaN = not applicable) and checkers.

    checkers.py     extract_answer (ANSWER_FORMATS), math_equal, qa_exact_match, qa_f1, normalize_answer
    symbolic.py     math-verify under a CPU-time budget (load-independent); timeout_count
    base.py         RewardHead: the contract of one objective (name, bounds, attribution)
    heads.py        Accuracy, ToolEfficiency, Format, Brevity (the default objectives)
    relative.py     RelativeToolEfficiency (ALGORITHM.md S8: exp(-alpha |m - n*|), running n*)
    objectives.py   RewardHeads: the ordered set -> (R_raw, R_norm) [N, K]

The heads are exported lazily (PEP 562): they import ``advantages`` and through it BoTorch,
which ``from lightning_paretopo.rewards.checkers import ...`` (the data readers) should not pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lightning_paretopo.rewards.checkers import (
    ANSWER_FORMATS,
    extract_answer,
    last_boxed,
    math_equal,
    normalize_answer,
    qa_exact_match,
    qa_f1,
)

if TYPE_CHECKING:
    from lightning_paretopo.rewards.base import RewardHead
    from lightning_paretopo.rewards.heads import (
        HEADS,
        MATH_KINDS,
        QA_KINDS,
        Accuracy,
        Brevity,
        Format,
        ToolEfficiency,
    )
    from lightning_paretopo.rewards.objectives import RewardHeads
    from lightning_paretopo.rewards.relative import RelativeToolEfficiency

_LAZY = {
    "RewardHead": "base",
    "HEADS": "heads",
    "MATH_KINDS": "heads",
    "QA_KINDS": "heads",
    "Accuracy": "heads",
    "Brevity": "heads",
    "Format": "heads",
    "ToolEfficiency": "heads",
    "RewardHeads": "objectives",
    "RelativeToolEfficiency": "relative",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ANSWER_FORMATS",
    "HEADS",
    "MATH_KINDS",
    "QA_KINDS",
    "Accuracy",
    "Brevity",
    "Format",
    "RelativeToolEfficiency",
    "RewardHead",
    "RewardHeads",
    "ToolEfficiency",
    "extract_answer",
    "last_boxed",
    "math_equal",
    "normalize_answer",
    "qa_exact_match",
    "qa_f1",
]
