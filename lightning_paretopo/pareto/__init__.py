"""Pareto machinery: dominance and sorting, hypervolume (BoTorch), the archive, stage-1 weights."""

from lightning_paretopo.pareto.dominance import (
    crowding_distance,
    dominance_matrix,
    domination_count,
    fill_inapplicable,
    is_non_dominated,
    non_dominated_ranks,
)

__all__ = [
    "crowding_distance",
    "dominance_matrix",
    "domination_count",
    "fill_inapplicable",
    "is_non_dominated",
    "non_dominated_ranks",
]
