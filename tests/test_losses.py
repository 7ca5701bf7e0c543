"""Pinned values and gradient masking of the clipped policy-gradient loss."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lightning_paretopo.losses import policy_loss

NAN, INF = math.nan, math.inf


def _hand_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row 0: A = +1, ratios (1.5, .5, 1); row 1: A = -1, ratios (1.1, .7); row 2: no tokens.

    With clip_eps = 0.2: token (0, 0) and (1, 1) are clipped (their clipped term is larger).
    Masked tokens hold garbage (-inf, NaN, inf) in every input.
    """
    L = math.log
    logprobs = torch.tensor(
        [[L(1.5), L(0.5), 0.0, -INF], [L(1.1), L(0.7), NAN, NAN], [NAN, -INF, INF, 0.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    old = torch.tensor(
        [[0.0, 0.0, 0.0, INF], [0.0, 0.0, -INF, NAN], [NAN] * 4], dtype=torch.float64
    )
    advantages = torch.tensor([1.0, -1.0, 5.0], dtype=torch.float64)
    action_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    return logprobs, old, advantages, action_mask


def test_token_mean_pinned_loss_stats_and_grad() -> None:
    logprobs, old, adv, mask = _hand_case()
    loss, stats = policy_loss(logprobs, old, adv, mask)
    # Per-token max(-A r, -A clip(r)): -1.2 (clipped), -.5, -1 | 1.1, .8 (clipped).
    assert loss.item() == pytest.approx((-1.2 - 0.5 - 1.0 + 1.1 + 0.8) / 5)
    loss.backward()
    expected_grad = [[0.0, -0.5 / 5, -1.0 / 5, 0.0], [1.1 / 5, 0.0, 0.0, 0.0], [0.0] * 4]
    torch.testing.assert_close(logprobs.grad, torch.tensor(expected_grad, dtype=torch.float64))
    assert (logprobs.grad[mask == 0] == 0).all()
    ratios = [1.5, 0.5, 1.0, 1.1, 0.7]
    assert stats["pg_loss"].item() == pytest.approx(-0.16)
    assert stats["clip_frac"].item() == pytest.approx(0.4)
    assert stats["ratio_mean"].item() == pytest.approx(sum(ratios) / 5)
    approx_kl = sum((r - 1) - math.log(r) for r in ratios) / 5
    assert stats["approx_kl"].item() == pytest.approx(approx_kl)
    assert stats["num_tokens"].item() == 5
    assert stats["adv_mean"].item() == pytest.approx((3 - 2) / 5)
    assert "kl" not in stats
    assert all(not v.requires_grad for v in stats.values())


def test_seq_mean_pinned_loss_and_grad() -> None:
    logprobs, old, adv, mask = _hand_case()
    loss, stats = policy_loss(logprobs, old, adv, mask, aggregation="seq-mean")
    # Row means -2.7/3 and 1.9/2; row 2 has no tokens and is left out.
    assert loss.item() == pytest.approx((-0.9 + 0.95) / 2)
    loss.backward()
    expected_grad = [[0.0, -0.5 / 6, -1.0 / 6, 0.0], [1.1 / 4, 0.0, 0.0, 0.0], [0.0] * 4]
    torch.testing.assert_close(logprobs.grad, torch.tensor(expected_grad, dtype=torch.float64))
    assert (logprobs.grad[mask == 0] == 0).all()
    assert stats["clip_frac"].item() == pytest.approx(0.4)  # stats other than losses: token-mean


def test_clipping_inactive_with_wide_upper_range() -> None:
    logprobs, old, adv, mask = _hand_case()
    loss, stats = policy_loss(logprobs, old, adv, mask, clip_eps=0.2, clip_eps_high=0.6)
    # Ratio 1.5 with A = +1 is inside [0.8, 1.6] now: -1.5 instead of -1.2.
    assert loss.item() == pytest.approx((-1.5 - 0.5 - 1.0 + 1.1 + 0.8) / 5)
    assert stats["clip_frac"].item() == pytest.approx(0.2)
    loss, stats = policy_loss(logprobs, old, adv, mask, clip_eps=0.5, clip_eps_high=0.6)
    assert loss.item() == pytest.approx((-1.5 - 0.5 - 1.0 + 1.1 + 0.7) / 5)
    assert stats["clip_frac"].item() == 0.0


def test_on_policy_ratio_is_one() -> None:
    logprobs = torch.tensor([[-1.0, -2.0, -0.5]], requires_grad=True)
    loss, stats = policy_loss(logprobs, logprobs.detach(), torch.tensor([2.0]), torch.ones(1, 3))
    assert loss.item() == pytest.approx(-2.0)
    assert stats["ratio_mean"].item() == 1.0
    assert stats["approx_kl"].item() == 0.0
    loss.backward()
    torch.testing.assert_close(logprobs.grad, torch.full((1, 3), -2 / 3))


@pytest.mark.parametrize("aggregation", ["token-mean", "seq-mean"])
def test_k3_kl_pinned(aggregation: str) -> None:
    logprobs, old, adv, mask = _hand_case()
    ref = torch.zeros_like(old)
    ref[2] = NAN  # garbage on masked row
    loss, stats = policy_loss(
        logprobs, old, adv, mask, kl_beta=0.1, ref_logprobs=ref, aggregation=aggregation
    )
    ratios = [[1.5, 0.5, 1.0], [1.1, 0.7]]
    k3 = [[1 / r + math.log(r) - 1 for r in row] for row in ratios]  # d = ref - logp = -log r
    if aggregation == "token-mean":
        kl = sum(sum(row) for row in k3) / 5
        pg = -0.16
    else:
        kl = (sum(k3[0]) / 3 + sum(k3[1]) / 2) / 2
        pg = 0.025
    assert stats["kl"].item() == pytest.approx(kl)
    assert stats["pg_loss"].item() == pytest.approx(pg)
    assert loss.item() == pytest.approx(pg + 0.1 * kl)
    loss.backward()
    # d k3 / d logp = 1 - exp(ref - logp) = 1 - 1/r; token (0, 2) has r = 1.
    n = 5 if aggregation == "token-mean" else 6
    assert logprobs.grad[0, 1].item() == pytest.approx((-0.5 + 0.1 * (1 - 2.0)) / n)
    assert logprobs.grad[0, 3].item() == 0.0


def test_kl_stat_without_penalty_does_not_change_loss() -> None:
    logprobs, old, adv, mask = _hand_case()
    loss, stats = policy_loss(logprobs, old, adv, mask, ref_logprobs=torch.zeros_like(old))
    assert loss.item() == pytest.approx(-0.16)
    assert stats["kl"].item() > 0


def test_no_tokens_gives_zero_loss() -> None:
    logprobs = torch.full((2, 3), NAN, requires_grad=True)
    for aggregation in ("token-mean", "seq-mean"):
        loss, stats = policy_loss(
            logprobs, logprobs.detach(), torch.ones(2), torch.zeros(2, 3), aggregation=aggregation
        )
        assert loss.item() == 0.0
        assert stats["num_tokens"].item() == 0


def test_validation_names_the_argument() -> None:
    lp, old, adv, mask = _hand_case()
    with pytest.raises(ValueError, match="aggregation"):
        policy_loss(lp, old, adv, mask, aggregation="sum")
    with pytest.raises(ValueError, match="ref_logprobs"):
        policy_loss(lp, old, adv, mask, kl_beta=0.1)
    with pytest.raises(ValueError, match="old_logprobs"):
        policy_loss(lp, old[:, :2], adv, mask)
    with pytest.raises(ValueError, match="advantages"):
        policy_loss(lp, old, adv[:2], mask)
    with pytest.raises(ValueError, match="action_mask"):
        policy_loss(lp, old, adv, mask.T)
    with pytest.raises(ValueError, match="clip_eps"):
        policy_loss(lp, old, adv, mask, clip_eps=0.0)
    with pytest.raises(ValueError, match="kl_beta"):
        policy_loss(lp, old, adv, mask, kl_beta=-1.0)


GARBAGE = st.sampled_from([NAN, INF, -INF, 1e30, -1e30])


@given(
    data=st.data(),
    n=st.integers(1, 4),
    t=st.integers(1, 6),
    aggregation=st.sampled_from(["token-mean", "seq-mean"]),
    kl_beta=st.sampled_from([0.0, 0.05]),
    per_token=st.booleans(),
)
def test_masked_tokens_get_exactly_zero_gradient(
    data, n, t, aggregation, kl_beta, per_token
) -> None:
    mask = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n * t, max_size=n * t)))
    mask = mask.reshape(n, t)
    finite = st.floats(-3.0, 0.0)

    def tensor(values: st.SearchStrategy, shape: tuple[int, ...]) -> torch.Tensor:
        size = math.prod(shape)
        clean = torch.tensor(data.draw(st.lists(finite, min_size=size, max_size=size)))
        dirty = torch.tensor(data.draw(st.lists(values, min_size=size, max_size=size)))
        m = mask if len(shape) == 2 else mask.any(-1)
        return torch.where(m, clean.reshape(shape), dirty.reshape(shape)).double()

    logprobs = tensor(GARBAGE, (n, t)).requires_grad_(True)
    adv = tensor(GARBAGE, (n, t) if per_token else (n,))
    ref = tensor(GARBAGE, (n, t)) if kl_beta else None
    loss, stats = policy_loss(
        logprobs, tensor(GARBAGE, (n, t)), adv, mask, 0.2, 0.3, kl_beta, ref, aggregation
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(v) for v in stats.values())
    assert torch.isfinite(logprobs.grad).all()
    assert (logprobs.grad[~mask] == 0).all()
