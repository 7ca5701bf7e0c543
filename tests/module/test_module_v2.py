"""``ParetoPOModule`` and ALGORITHM.md version 2: construction checks of the new options,
``paretopo_paper`` under a real Trainer (switch, w0 frozen, diagnostics logged) and the
checkpoint of its smoothed HV gain."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning import seed_everything

from lightning_paretopo.args import MethodArgs, Stage2Args
from lightning_paretopo.callbacks import StageSwitch
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.rewards import Accuracy, RewardHeads, ToolEfficiency

from .conftest import MemoryLogger, make_data, make_module, make_trainer


@pytest.mark.parametrize("method", ["paretopo", "stage2_only"])
def test_gated_dominance_without_accuracy_fails_at_construction(method: str) -> None:
    heads = RewardHeads([ToolEfficiency()])
    with pytest.raises(ValueError, match=r"method\.stage2\.dominance='gated'.*'accuracy'"):
        ParetoPOModule(method=MethodArgs(name=method), objectives=heads)
    v1 = MethodArgs(name=method, stage2=Stage2Args(dominance="pareto"))
    assert ParetoPOModule(method=v1, objectives=heads).gated == (True,)


def test_paretopo_paper_weights_default_to_w0_for_two_objectives() -> None:
    module = ParetoPOModule(method=MethodArgs(name="paretopo_paper"))
    torch.testing.assert_close(module.static_weights, torch.tensor([0.6, 0.4], dtype=torch.float64))
    assert module.gated == (False, True)
    three = RewardHeads([Accuracy(), ToolEfficiency(), ToolEfficiency(name="te2")])
    with pytest.raises(ValueError, match=r"paretopo_paper.*method\.weights"):
        ParetoPOModule(method=MethodArgs(name="paretopo_paper"), objectives=three)


def test_paretopo_paper_switches_and_freezes_w0(tiny_policy: Path, tmp_path: Path) -> None:
    seed_everything(0)
    method = MethodArgs(name="paretopo_paper", weights=[0.5, 0.3, 0.2])
    module, data = make_module(tiny_policy, method=method), make_data(tmp_path)
    trainer = make_trainer(tmp_path, max_steps=3, callbacks=[StageSwitch(fixed_step=1)])
    trainer.fit(module, data)
    assert module.stage == 2 and module.switch_step == 1
    torch.testing.assert_close(module.frozen_weights, torch.tensor([0.5, 0.3, 0.2]).double())
    logger: MemoryLogger = trainer.logger
    assert {"train/paper/smoothed_dhv", "train/stage2/fronts"} <= logger.keys()
    stage2 = [s for s, m in logger.history if "train/stage2/fronts" in m]
    assert stage2 == [1, 2]  # logged in stage 2 only
    assert logger.last("train/stage2/wrong_in_front0") in (0.0, 0.5, 1.0)


def test_the_smoothed_hv_gain_is_checkpointed() -> None:
    module = ParetoPOModule(method=MethodArgs(name="paretopo_paper"))
    module.run.meta_gain.step(torch.tensor([0.5, 0.5], dtype=torch.float64))
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    restored = ParetoPOModule(method=MethodArgs(name="paretopo_paper"))
    restored.on_load_checkpoint(checkpoint)
    assert restored.run.meta_gain.value == pytest.approx(0.025)
    assert len(restored.run.meta_gain.archive) == 1
    del checkpoint["paretopo"]["meta_gain"]  # a version-1 checkpoint still loads
    ParetoPOModule(method=MethodArgs(name="paretopo_paper")).on_load_checkpoint(checkpoint)


def test_relative_tool_efficiency_trains_and_its_n_star_is_checkpointed(
    tiny_policy: Path, tmp_path: Path
) -> None:
    from lightning_paretopo.rewards import RelativeToolEfficiency

    seed_everything(0)
    heads = RewardHeads([Accuracy(), RelativeToolEfficiency()])
    module = make_module(tiny_policy, method=MethodArgs(name="paretopo_paper"), objectives=heads)
    make_trainer(tmp_path, max_steps=2).fit(module, make_data(tmp_path))
    head = module.objectives.heads[1]
    head.fewest["a-7"] = 2  # whatever the tiny policy solved, a known entry to carry over
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    restored = ParetoPOModule(
        method=MethodArgs(name="paretopo_paper"),
        objectives=RewardHeads([Accuracy(), RelativeToolEfficiency()]),
    )
    restored.on_load_checkpoint(checkpoint)
    assert restored.objectives.heads[1].fewest == head.fewest
