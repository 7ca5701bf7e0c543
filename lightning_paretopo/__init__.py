"""lightning-paretopo: ParetoPO (Li et al., ICML 2026) for tool-using LLM agents, in Lightning.

Where things live (see README "Architecture"):
    pareto/        dominance, non-dominated sorting, hypervolume (BoTorch), archive, stage-1 weights
    advantages/    scalarised, GDPO, OTC, hv_meta and Pareto-rank advantages with action credit
    losses.py      clipped token-level policy gradient with an optional k3 KL term
    tools/         calculator, python sandbox, BM25 search behind one ``Tool`` protocol
    types.py       typed containers that cross module boundaries
"""

__version__ = "0.1.0"
