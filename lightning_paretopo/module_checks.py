"""Construction-time checks and the static weights of ``ParetoPOModule``: bad configuration
fails before any trainer, logger or policy exists, with a ValueError naming the field and the
fix.

Contract:
    - ``check_config``: a method that reads accuracy (``Method.needs_accuracy``: accuracy_only,
      otc) or runs stage 2 with gated dominance (ALGORITHM.md S5, the default of
      ``method.stage2.dominance``; ``Method.reads_accuracy``) needs an objective named
      ``accuracy``; every tool in ``tool_specs`` must be known.
    - ``static_weights``: ``method.weights`` normalised to sum 1 (K non-negative numbers with a
      positive sum); None gives the method's ``default_weights`` (paretopo_paper: w0 =
      (0.6, 0.4), for two objectives only) or uniform weights.

Not done here: anything stateful (the module holds the run state).
"""

from __future__ import annotations

import torch

from lightning_paretopo.args import MethodArgs
from lightning_paretopo.methods import get_method
from lightning_paretopo.tools.registry import TOOL_CLASSES, ToolSpecs, unknown_tools


def check_config(
    method: MethodArgs,
    names: list[str],
    tool_specs: ToolSpecs | None,
) -> None:
    """Raise ValueError for the configurations the module docstring lists."""
    why = get_method(method.name).reads_accuracy(method)
    if why == "method.name" and "accuracy" not in names:
        raise ValueError(
            f"method.name={method.name!r} needs an objective named 'accuracy'; add it to "
            f"objectives (got {names})"
        )
    if why == "method.stage2.dominance" and "accuracy" not in names:
        raise ValueError(
            f"method.stage2.dominance='gated' (the default) multiplies gated objectives by "
            f"accuracy, but no objective is named 'accuracy' (got {names}); add one, or set "
            "method.stage2.dominance: pareto"
        )
    unknown = unknown_tools(tool_specs or {})
    if unknown:
        raise ValueError(f"tool_specs: unknown tools {unknown}; choose from {sorted(TOOL_CLASSES)}")


def static_weights(method: MethodArgs, names: list[str]) -> torch.Tensor:
    """[K] float64 static weights (w0 for paretopo_paper), summing to 1."""
    K, w = len(names), method.weights
    default = get_method(method.name).default_weights
    if w is None and default is not None:
        if len(default) != K:
            raise ValueError(
                f"method.name={method.name!r} has default weights {default} for "
                f"{len(default)} objectives only; set method.weights to {K} numbers for {names}"
            )
        w = list(default)
    if w is None:
        return torch.full((K,), 1.0 / K, dtype=torch.float64)
    if len(w) != K or min(w) < 0 or sum(w) <= 0:
        raise ValueError(
            f"method.weights must be {K} non-negative numbers (one per objective {names}) "
            f"with a positive sum, got {w}"
        )
    t = torch.tensor(w, dtype=torch.float64)
    return t / t.sum()
