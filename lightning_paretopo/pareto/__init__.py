"""Pareto machinery: dominance and sorting, hypervolume (BoTorch), the archive, stage-1 weights."""

from lightning_paretopo.pareto.archive import ParetoArchive
from lightning_paretopo.pareto.dominance import (
    crowding_distance,
    dominance_matrix,
    domination_count,
    fill_inapplicable,
    is_non_dominated,
    non_dominated_ranks,
)
from lightning_paretopo.pareto.hypervolume import (
    hypervolume,
    hypervolume_contribution,
    hypervolume_gradient,
    point_hypervolume_gradient,
    project_to_front,
)
from lightning_paretopo.pareto.weights import HypervolumeWeights, nan_mean_point

__all__ = [
    "HypervolumeWeights",
    "ParetoArchive",
    "crowding_distance",
    "dominance_matrix",
    "domination_count",
    "fill_inapplicable",
    "hypervolume",
    "hypervolume_contribution",
    "hypervolume_gradient",
    "is_non_dominated",
    "nan_mean_point",
    "non_dominated_ranks",
    "point_hypervolume_gradient",
    "project_to_front",
]
