"""Hypothesis properties of every advantage method on random groups with ties and duplicates.

Rewards come from a small grid and each group draws its rows from a small pool, so ties,
duplicate rows and all-tied groups are common. Weights are dyadic so that utilities that tie
exactly also tie in floating point (the brute-force references compare tie-breaks).
"""

import math
import statistics

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lightning_paretopo.advantages import (
    credit_shares,
    gdpo_advantages,
    hv_meta_advantages,
    otc_advantages,
    pareto_rank_advantages,
    scalarized_advantages,
    token_advantages,
)
from lightning_paretopo.pareto.dominance import non_dominated_ranks

GRID = [0.0, 0.25, 0.5, 0.75, 1.0]
WEIGHT = st.sampled_from([0.25, 0.5, 1.0])
TIE_BREAKS = ["utility", "crowding", "domination", "none"]
FAST = settings(max_examples=60)


@st.composite
def grouped_rewards(draw, tied: bool = False) -> tuple[torch.Tensor, int, list[float]]:
    """R [B*G, K] float32 with each group's rows drawn from a pool; optional NaN last column."""
    B, G, K = draw(st.integers(1, 3)), draw(st.integers(2, 8)), draw(st.integers(2, 4))
    rows = []
    for _ in range(B):
        pool = draw(
            st.lists(
                st.lists(st.sampled_from(GRID), min_size=K, max_size=K), min_size=1, max_size=8
            )
        )
        pool = pool[:1] if tied else pool[:G]
        group = [list(pool[draw(st.integers(0, len(pool) - 1))]) for _ in range(G)]
        if draw(st.booleans()) and K > 2:  # last objective not applicable to this task
            group = [r[:-1] + [math.nan] for r in group]
        rows += group
    weights = draw(st.lists(WEIGHT, min_size=K, max_size=K))
    return torch.tensor(rows), G, weights


def _otc_inputs(data, R: torch.Tensor, G: int, tied: bool) -> tuple[torch.Tensor, torch.Tensor]:
    n = R.shape[0] if not tied else R.shape[0] // G
    correct = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    calls = torch.tensor(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    if tied:
        correct, calls = correct.repeat_interleave(G), calls.repeat_interleave(G)
    return correct, calls


def _all_methods(data, R, G, w, tied=False) -> dict[str, torch.Tensor]:
    correct, calls = _otc_inputs(data, R, G, tied)
    out = {
        "scalarized": scalarized_advantages(R, w, G),
        "scalarized-none": scalarized_advantages(R, w, G, scale="none"),
        "gdpo": gdpo_advantages(R, w, G),
        "otc": otc_advantages(correct, calls, G),
        "hv_meta": hv_meta_advantages(R, w, G, hv_contribution=0.4),
    }
    for tb in TIE_BREAKS:
        out[f"pareto-{tb}"] = pareto_rank_advantages(R, G, w, tie_break=tb)
    return out


@FAST
@given(sample=grouped_rewards(), data=st.data())
def test_every_method_is_zero_mean_per_group(sample, data) -> None:
    R, G, w = sample
    for name, A in _all_methods(data, R, G, w).items():
        assert A.shape == (R.shape[0],), name
        assert torch.isfinite(A).all(), name
        assert A.reshape(-1, G).mean(dim=1).abs().max() < 1e-6, name


@FAST
@given(sample=grouped_rewards(tied=True), data=st.data())
def test_all_tied_groups_get_exact_zeros(sample, data) -> None:
    R, G, w = sample
    for name, A in _all_methods(data, R, G, w, tied=True).items():
        assert (A == 0).all(), name


@FAST
@given(
    sample=grouped_rewards(),
    tie_break=st.sampled_from(TIE_BREAKS),
    tau=st.sampled_from([0.0, 0.5, 0.99]),
)
def test_better_front_always_gets_larger_advantage(sample, tie_break, tau) -> None:
    R, G, w = sample
    A = pareto_rank_advantages(R, G, w, tie_break=tie_break, tau=tau).reshape(-1, G)
    f = non_dominated_ranks(R.reshape(-1, G, R.shape[1]))  # [B, G]
    better = f.unsqueeze(-1) < f.unsqueeze(-2)  # [B, G, G]: i in a better front than j
    assert (A.unsqueeze(-1) > A.unsqueeze(-2))[better].all()


def _dominates(a: list[float], b: list[float]) -> bool:
    cols = [k for k in range(len(a)) if not math.isnan(a[k])]
    return all(a[k] >= b[k] for k in cols) and any(a[k] > b[k] for k in cols)


def _reference_pareto(group: list[list[float]], w: list[float], tie_break: str, tau: float):
    G, rem, front = len(group), set(range(len(group))), [0] * len(group)
    level = 0
    while rem:
        top = {i for i in rem if not any(_dominates(group[j], group[i]) for j in rem)}
        for i in top:
            front[i] = level
        rem, level = rem - top, level + 1
    if tie_break == "utility":
        key = [
            sum(wk * r for wk, r in zip(w, row, strict=True) if not math.isnan(r))
            / sum(wk for wk, r in zip(w, row, strict=True) if not math.isnan(r))
            for row in group
        ]
    elif tie_break == "domination":
        key = [sum(_dominates(group[i], group[j]) for j in range(G)) for i in range(G)]
    else:
        key = [0.0] * G
    u = []
    for i in range(G):
        mates = [j for j in range(G) if front[j] == front[i]]
        u.append(-front[i] + tau * sum(key[j] < key[i] for j in mates) / len(mates))
    if len(set(u)) == 1:
        return [0.0] * G
    mean, sd = statistics.mean(u), statistics.stdev(u)
    return [(x - mean) / (sd + 1e-6) for x in u]


@FAST
@given(sample=grouped_rewards(), tie_break=st.sampled_from(["utility", "domination", "none"]))
def test_pareto_rank_matches_brute_force(sample, tie_break) -> None:
    R, G, w = sample
    A = pareto_rank_advantages(R.double(), G, w, tie_break=tie_break, tau=0.5)
    expected = []
    for g in range(R.shape[0] // G):
        expected += _reference_pareto(R[g * G : (g + 1) * G].tolist(), w, tie_break, 0.5)
    torch.testing.assert_close(A, torch.tensor(expected, dtype=torch.float64))


def _reference_beta(group: list[list[float]], A: list[float], eligible: list[list[bool]]):
    out = []
    for i, row in enumerate(group):
        if A[i] < 0:
            js = [j for j in range(len(group)) if _dominates(group[j], row)]
            gaps = [[max(0.0, group[j][k] - row[k]) for k in range(len(row))] for j in js]
        else:
            js = [j for j in range(len(group)) if _dominates(row, group[j])]
            gaps = [[max(0.0, row[k] - group[j][k]) for k in range(len(row))] for j in js]
        score = [
            sum(g[k] for g in gaps) / max(len(js), 1) if eligible[i][k] else 0.0
            for k in range(len(row))
        ]
        n_eligible = sum(eligible[i])
        if sum(score) > 0:
            out.append([s / sum(score) for s in score])
        else:
            out.append([e / max(n_eligible, 1) for e in eligible[i]])
    return out


@FAST
@given(sample=grouped_rewards(), data=st.data())
def test_credit_shares_sum_to_one_and_match_brute_force(sample, data) -> None:
    R, G, _ = sample
    N, K, T = R.shape[0], R.shape[1], 3
    bits = data.draw(st.lists(st.booleans(), min_size=N * K * T, max_size=N * K * T))
    masks = torch.tensor(bits).reshape(N, K, T).long()
    A = torch.tensor(data.draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5]), min_size=N, max_size=N)))
    beta = credit_shares(A, R.double(), G, masks)
    eligible = masks.bool().any(-1) & ~torch.isnan(R)  # [N, K]
    assert (beta >= 0).all()
    sums = beta.sum(-1)
    has = eligible.any(-1)
    torch.testing.assert_close(sums[has], torch.ones_like(sums[has]))
    assert (sums[~has] == 0).all()
    expected = []
    for g in range(N // G):
        rows = slice(g * G, (g + 1) * G)
        expected += _reference_beta(R[rows].tolist(), A[rows].tolist(), eligible[rows].tolist())
    torch.testing.assert_close(beta, torch.tensor(expected, dtype=torch.float64))
    # Tokens covered by every eligible mask of their row carry the full A_i.
    a = token_advantages(A.double(), R.double(), G, masks)  # [N, T]
    full = (masks.bool() | ~eligible.unsqueeze(-1)).all(1) & has.unsqueeze(-1)  # [N, T]
    torch.testing.assert_close(a[full], A.double().unsqueeze(-1).expand(N, T)[full])
    assert (a[~masks.bool().any(1)] == 0).all()
