"""Length-grouped micro-batches: pinned groupings, the padding bound, and ``policy_update`` giving
the same loss and gradients (to float rounding) however the batch is cut."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lightning_paretopo.args import LossArgs
from lightning_paretopo.micro_batching import MicroBatch, micro_batches, shares
from lightning_paretopo.optimization import UpdateStep, policy_update
from lightning_paretopo.policy.logprobs import token_logprobs
from lightning_paretopo.policy.tiny import build_tiny_policy
from lightning_paretopo.types import RolloutBatch

pytestmark = pytest.mark.usefixtures("one_thread")


def _groups(micro: list[MicroBatch]) -> list[tuple[list[int], int]]:
    return [(m.rows.tolist(), m.width) for m in micro]


def test_batch_order_without_grouping() -> None:
    lengths = torch.tensor([3, 9, 5, 9, 2])
    assert _groups(micro_batches(lengths, 2, None)) == [([0, 1], 9), ([2, 3], 9), ([4], 9)]
    assert _groups(micro_batches(lengths, None, None)) == [([0, 1, 2, 3, 4], 9)]


def test_rows_sorted_by_length_and_cut_at_the_padding_bound() -> None:
    lengths = torch.tensor([40, 100, 80, 75, 100, 30, 60])
    # longest first (ties in batch order); 75 >= 0.75 * 100 joins, 60 < 0.75 * 100 opens a
    # group, 40 < 0.75 * 60 opens one, 30 >= 0.75 * 40 joins it
    assert _groups(micro_batches(lengths, None, 0.25)) == [
        ([1, 4, 2, 3], 100),
        ([6], 60),
        ([0, 5], 40),
    ]
    assert _groups(micro_batches(lengths, 2, 0.25)) == [
        ([1, 4], 100),
        ([2, 3], 80),
        ([6], 60),
        ([0, 5], 40),
    ]
    assert len(micro_batches(lengths, None, 0.0)) == 6  # equal lengths only


def test_first_is_the_earliest_start_of_a_micro_batchs_rows() -> None:
    lengths = torch.tensor([40, 100, 80, 75, 100, 30, 60])
    starts = torch.tensor([12, 30, 9, 20, 25, 0, 60])  # row 6 samples nothing: its length
    firsts = [(m.rows.tolist(), m.first) for m in micro_batches(lengths, None, 0.25, starts)]
    assert firsts == [([1, 4, 2, 3], 9), ([6], 60), ([0, 5], 1)]  # a start of 0 counts as 1
    assert {m.first for m in micro_batches(lengths, 2, None)} == {1}  # no starts: every column


def test_bad_max_padding_names_the_field() -> None:
    with pytest.raises(ValueError, match="max_padding"):
        micro_batches(torch.tensor([3]), None, 1.0)
    with pytest.raises(ValueError, match="max_padding"):
        LossArgs(max_padding=-0.1)


@given(
    st.lists(st.integers(1, 200), min_size=1, max_size=40),
    st.one_of(st.none(), st.integers(1, 8)),
    st.floats(0.0, 0.9),
)
def test_every_row_once_and_padding_within_bound(lengths, size, p) -> None:
    lengths = torch.tensor(lengths)
    micro = micro_batches(lengths, size, p)
    rows = torch.cat([m.rows for m in micro])
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    for m in micro:
        own = lengths[m.rows]
        assert m.width == int(own.max()) and len(m.rows) <= (size or len(lengths))
        assert 1 - own.sum() / (len(own) * m.width) <= p + 1e-9  # padding share
        assert len(own) * m.width <= min(size or len(lengths), len(lengths)) * lengths.max()


def test_shares_sum_to_one() -> None:
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0]], dtype=torch.float32)
    micro = [MicroBatch(torch.tensor([2, 1]), 3), MicroBatch(torch.tensor([0]), 4)]
    assert shares(mask, micro, "token-mean") == pytest.approx([1 / 4, 3 / 4])
    assert shares(mask, micro, "seq-mean") == pytest.approx([1 / 2, 1 / 2])


# ------------------------------------------------------- policy_update on a real tiny Llama
class _Recorder:
    """An optimizer stand-in: records every parameter's gradient at each step, moves nothing."""

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        self.params, self.grads = params, []

    def step(self) -> None:
        self.grads.append([p.grad.detach().clone() for p in self.params])

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None


def _batch(N: int = 12, T: int = 40) -> tuple[RolloutBatch, torch.Tensor]:
    """Right-padded rows of random length (8..T), actions after a 5-token prompt, an
    observation hole in some rows; token advantages [N, T]."""
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(8, T + 1, (N,), generator=g)
    lengths[0] = T
    ids = torch.randint(4, 100, (N, T), generator=g)
    cols = torch.arange(T)
    attention = (cols < lengths[:, None]).long()  # [N, T]
    action = attention * (cols >= 5).long()  # [N, T]
    action[::3, 6:9] = 0  # an observation inside some rows
    ids = ids * attention  # pad id 0
    a = torch.randn(N, T, generator=g)  # [N, T]
    z = torch.zeros(N, dtype=torch.long)
    batch = RolloutBatch(ids, attention, action, z + 5, [[] for _ in range(N)], z, z,
                         z.bool(), [""] * N, group_size=4)  # fmt: skip
    return batch, a


def _assert_rounding_close(g: torch.Tensor, w: torch.Tensor) -> None:
    """Equal up to float32 rounding: within 1e-5 relative, or 1e-5 of the tensor's largest entry
    (a sum of products taken in another order or blocking differs by a few ulps of its terms)."""
    torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5 * float(w.abs().max()))


def _update(args: LossArgs, kl: bool) -> tuple[dict[str, float], list[list[torch.Tensor]]]:
    torch.manual_seed(0)
    policy = build_tiny_policy(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64)[0]  # fmt: skip
    ref = copy.deepcopy(policy).requires_grad_(False) if kl else None
    with torch.no_grad():  # the reference must differ for the KL term to have a gradient
        for p in ref.parameters() if ref is not None else []:
            p.add_(0.01 * torch.randn_like(p))
    opt = _Recorder([p for p in policy.parameters() if p.requires_grad])
    step = UpdateStep(opt, backward=lambda loss: loss.backward(), clip=lambda max_norm: None)
    batch, a = _batch()
    stats = policy_update(policy, batch, a, args, step, ref)
    return stats, opt.grads


@pytest.mark.parametrize("aggregation", ["token-mean", "seq-mean"])
@pytest.mark.parametrize(
    ("size", "max_padding"), [(None, 0.25), (None, 0.0), (3, 0.25), (5, None), (1, None)]
)
def test_loss_and_gradients_of_a_batch_do_not_depend_on_micro_batching(
    aggregation: str, size: int | None, max_padding: float | None
) -> None:
    common = {"aggregation": aggregation, "max_grad_norm": None, "ppo_epochs": 2}
    common |= {"kl_beta": 0.1}
    whole_stats, whole = _update(LossArgs(**common, max_padding=None), kl=True)
    stats, grads = _update(LossArgs(**common, micro_batch_size=size, max_padding=max_padding), True)
    assert stats.keys() == whole_stats.keys()
    for key in ("pg_loss", "kl", "num_tokens", "adv_mean", "clip_frac"):
        assert stats[key] == pytest.approx(whole_stats[key], rel=1e-5, abs=1e-8), key
    assert len(grads) == len(whole) == 2  # two passes
    for step, ref_step in zip(grads, whole, strict=True):
        for g, w in zip(step, ref_step, strict=True):
            _assert_rounding_close(g, w)


def test_logits_only_from_the_first_sampled_column_leave_the_update_unchanged() -> None:
    """``policy_update`` computes logits from each micro-batch's first sampled column on
    (``token_logprobs(first=)``); against every column's logits: the same loss and gradients."""
    torch.manual_seed(0)
    policy = build_tiny_policy(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64)[0]  # fmt: skip
    batch, _ = _batch()
    ids, mask = batch.input_ids, batch.attention_mask
    full = token_logprobs(policy, ids, mask)  # [N, T]
    part = token_logprobs(policy, ids, mask, first=5)
    assert bool((part[:, :5] == 0).all())
    torch.testing.assert_close(part[:, 5:], full[:, 5:], rtol=1e-5, atol=1e-6)
    seen = []
    hook = policy.register_forward_hook(lambda mod, args, out: seen.append(out.logits.shape[1]))
    part.sum().backward()
    grads = [p.grad.clone() for p in policy.parameters()]
    policy.zero_grad()
    full[:, 5:].sum().backward()
    for g, w in zip(grads, [p.grad for p in policy.parameters()], strict=True):
        _assert_rounding_close(g, w)
    args = LossArgs(max_grad_norm=None, max_padding=None)
    opt = _Recorder([p for p in policy.parameters() if p.requires_grad])
    step = UpdateStep(opt, backward=lambda loss: loss.backward(), clip=lambda max_norm: None)
    policy_update(policy, batch, torch.ones_like(full), args, step)
    hook.remove()
    assert seen == [40 - 5 + 1]  # the update's forward: logits of columns 4 .. 39 only
