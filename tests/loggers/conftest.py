"""Helpers for reading W&B run files that a just-finished run is still writing."""

from __future__ import annotations

import time
from pathlib import Path


def settled(paths: list[Path], timeout_s: float = 30.0) -> list[Path]:
    """Wait until every file in ``paths`` has stopped growing (W&B's service may still be
    writing after ``wandb.finish()`` returns, more so on a loaded machine)."""
    deadline = time.monotonic() + timeout_s
    sizes = None
    while time.monotonic() < deadline:
        now = [p.stat().st_size for p in paths]
        if now == sizes and all(n > 7 for n in now):
            return paths
        sizes = now
        time.sleep(0.3)
    return paths
