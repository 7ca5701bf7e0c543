"""Reward heads and answer checkers. This package currently exports the checkers only."""

from lightning_paretopo.rewards.checkers import (
    extract_answer,
    last_boxed,
    math_equal,
    normalize_answer,
    qa_exact_match,
    qa_f1,
)

__all__ = [
    "extract_answer",
    "last_boxed",
    "math_equal",
    "normalize_answer",
    "qa_exact_match",
    "qa_f1",
]
