"""Cross-run comparison: the final test points of many runs, their fronts and hypervolumes.

- ``runs``: find the finished runs under a folder (``summary.json``) as ``RunPoints``.
- ``compare``: per-method numbers (HV mean ± std over seeds, HV of each method's front).
- ``figure``: the two-panel PNG/SVG; ``page``: the self-contained HTML page.
- ``command``: ``python -m lightning_paretopo fronts <folder>`` (also logs a W&B comparison run).
"""

from lightning_paretopo.fronts.compare import MethodRow, method_rows, union_hv
from lightning_paretopo.fronts.figure import plot_fronts
from lightning_paretopo.fronts.runs import RunPoints, find_runs

__all__ = ["MethodRow", "RunPoints", "find_runs", "method_rows", "plot_fronts", "union_hv"]
