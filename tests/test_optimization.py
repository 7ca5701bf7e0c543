"""``optimization``: the construction-time check of the optimizer's settings.

(Micro-batches and their shares: tests/test_micro_batching.py, which also runs
``policy_update`` on a tiny Llama; the update under a real Trainer: tests/module/test_module.py.)
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from lightning_paretopo.optimization import check_optimizer


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
