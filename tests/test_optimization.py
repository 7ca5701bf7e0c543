"""``optimization``: micro-batch slicing, each micro-batch's share of the aggregated loss, and
the construction-time check of the optimizer's settings.

(The update itself runs under a real Trainer in tests/module/test_module.py: micro-batched and
whole-batch steps give the same parameters.)
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from lightning_paretopo.optimization import check_optimizer, micro_batch_shares, micro_batches

# Rows with 3, 0 and 1 sampled tokens.
MASK = torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0]], dtype=torch.float32)  # [N, T]


def test_micro_batches_cover_the_rows_in_order() -> None:
    assert micro_batches(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert micro_batches(5, None) == [slice(0, 5)]
    assert micro_batches(3, 8) == [slice(0, 3)]


def test_token_mean_shares_count_sampled_tokens() -> None:
    shares = micro_batch_shares(MASK, [slice(0, 1), slice(1, 3)], "token-mean")
    assert shares == pytest.approx([3 / 4, 1 / 4])


def test_seq_mean_shares_count_rows_with_a_sampled_token() -> None:
    # seq-mean averages over rows with >= 1 sampled token: rows 0 and 2, one in each slice
    # (counting row 1 would give 1/3 and 2/3).
    shares = micro_batch_shares(MASK, [slice(0, 1), slice(1, 3)], "seq-mean")
    assert shares == pytest.approx([1 / 2, 1 / 2])


def test_a_batch_without_sampled_tokens_has_zero_shares() -> None:
    assert micro_batch_shares(torch.zeros(2, 3), [slice(0, 2)], "token-mean") == [0.0]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (partial(torch.optim.AdamW, lr=-1e-5), r"optimizer\.init_args\.lr must be > 0.*-1e-05"),
        (partial(torch.optim.SGD, lr=0.0), r"optimizer\.init_args\.lr must be > 0"),
        (lambda params: torch.optim.Adam(params, lr=-1.0), r"optimizer\.init_args: .*rate"),
        (partial(torch.optim.AdamW, weight_decay=-1.0), r"optimizer\.init_args: .*weight_decay"),
    ],
)
def test_bad_optimizer_settings_fail_naming_the_field(factory, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_optimizer(factory)


def test_good_optimizer_settings_pass() -> None:
    check_optimizer(partial(torch.optim.AdamW, lr=3e-5, weight_decay=0.0))
    check_optimizer(lambda params: torch.optim.SGD(params, lr=0.1))
