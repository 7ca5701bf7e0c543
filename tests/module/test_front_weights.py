"""The weights the module records for each step (``train_history``: panel (c) of fronts.png) are
the ones the step trained with: the stage-1 weights, then w* after the switch; a static
method's own weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_paretopo.args import MethodArgs
from lightning_paretopo.callbacks import FrontLogger, StageSwitch

from .conftest import make_data, make_module, make_trainer


@pytest.mark.parametrize("method", ["paretopo", "static"])
def test_recorded_weights_are_the_trained_ones(tiny_policy: Path, tmp_path: Path, method: str):
    torch.manual_seed(0)
    args = MethodArgs(name=method, weights=[0.6, 0.2, 0.2] if method == "static" else None)
    module = make_module(tiny_policy, method=args)
    fronts = FrontLogger(dirpath=str(tmp_path))
    switch = StageSwitch(fixed_step=2)
    trainer = make_trainer(tmp_path, max_steps=4, callbacks=[switch, fronts])
    trainer.fit(module, make_data(tmp_path))
    recorded = {h["step"]: h["weights"] for h in module.train_history}
    assert sorted(recorded) == [0, 1, 2, 3, 4]  # 0: the start of training
    if method == "static":
        assert all(w == pytest.approx([0.6, 0.2, 0.2]) for w in recorded.values())
        return
    assert module.switch_step == 2
    w_star = module.frozen_weights.tolist()
    assert recorded[3] == recorded[4] == w_star  # stage 2 trains with the frozen w*
    assert module.hv_weights.weights.tolist() != w_star  # the stage-1 state moved on
