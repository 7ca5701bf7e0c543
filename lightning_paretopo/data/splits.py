"""Hash-based train/val/test assignment shared by every synthetic task family.

Contract: ``split_of(key)`` depends only on ``key`` (and the fractions), never on a seed or on
what else was generated, so an expression or question lands in exactly one split in every run
and on every machine. The hash is SHA-256 of the UTF-8 key; its first 8 bytes, read as an
integer and divided by 2**64, give u in [0, 1): train if u < f_train, val if u < f_train +
f_val, else test.

Deliberately not done: stratification by tier (tiers are balanced by the generators' sampling).
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")
DEFAULT_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def check_split(split: str | None) -> None:
    """Raise ValueError unless ``split`` is None or one of ``SPLITS``."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")


def check_fractions(fractions: tuple[float, float, float]) -> None:
    """Raise ValueError unless ``fractions`` are three non-negative numbers summing to 1."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            f"split_fractions must be three non-negative (train, val, test) fractions summing "
            f"to 1, got {fractions!r}"
        )


def split_of(key: str, fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS) -> str:
    """The split ("train", "val" or "test") that ``key`` belongs to."""
    check_fractions(fractions)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < fractions[0]:
        return "train"
    if u < fractions[0] + fractions[1]:
        return "val"
    return "test"
