"""The validation table of the fronts benchmark: what the defaults are chosen on.

Contract. ``final_val_hv(record)`` is the run's val/hv at its last validation (the HV of the
non-dominated set of the run's validation points, ALGORITHM.md "What a run must report"), None
without any validation. ``render_validation(tasks, order)`` is a markdown table, one row per
method present, one column per task (the mean over the task's seeds, and n), plus the mean
over the tasks where the method has a value. Choices of defaults (docs/algorithm.md) read this
table, never the test points.

Deliberately not done: val is 128 problems x 1 sample per validation in the tiny configs, so
one run's val/hv is noisy; the table shows means and n, not a decision.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.fronts_report import method_order

Record = dict[str, Any]


def final_val_hv(record: Record) -> float | None:
    """val/hv of the record's last validation, or None."""
    history = record.get("val_history") or []
    return float(history[-1]["hv"]) if history else None


def render_validation(tasks: dict[str, list[Record]], order: list[str], digits: int = 3) -> str:
    """Markdown table of mean final val/hv per method and task (module docstring)."""
    if not tasks:
        return ""
    names = list(tasks)
    lines = [
        "| method | " + " | ".join(names) + " | mean over tasks |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for method in method_order([r for rs in tasks.values() for r in rs], order):
        cells, means = [], []
        for task in names:
            values = [
                v
                for r in tasks[task]
                if r["method"] == method and (v := final_val_hv(r)) is not None
            ]
            if values:
                means.append(statistics.fmean(values))
                cells.append(f"{means[-1]:.{digits}f} (n={len(values)})")
            else:
                cells.append("—")
        overall = f"{statistics.fmean(means):.{digits}f}" if means else "—"
        lines.append(f"| `{method}` | " + " | ".join(cells) + f" | {overall} |")
    return "\n".join(lines)
