"""Methods are declarations (methods/catalog.py): the shipped ones are consistent with the
configs, and a new method needs one entry and nothing else (the docs' worked example)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from lightning_paretopo.args import MethodArgs
from lightning_paretopo.callbacks import StageSwitch
from lightning_paretopo.methods import METHODS, Method, in_stage2, method_advantages
from lightning_paretopo.methods.catalog import _scalarized
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.rundir import method_label
from tests.methods.test_methods import inputs

REPO = Path(__file__).resolve().parents[1]


def test_every_declaration_is_consistent() -> None:
    for name, m in METHODS.items():
        assert m.name == name
        assert (m.stage1 is None) == (m.stages == "2"), name  # only stage2_only lacks a stage 1
        assert set(m.stage2_fixed) <= {"dominance", "score"}, name
        module = ParetoPOModule(method=MethodArgs(name=name))
        assert module.stage == m.start_stage
        assert StageSwitch._active(module) == m.switches


def test_every_method_overlay_names_a_declared_method() -> None:
    for path in sorted((REPO / "configs" / "methods").glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["model"]["init_args"]["method"]["name"]
        assert name in METHODS, path.name


def test_a_new_method_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worked example of docs/algorithm.md ("Adding a method"): fixed weights in stage 1,
    then the switch to stage 2 with w* = those weights."""
    entry = Method(
        "static_then_rank",
        "fixed weights, then ParetoPO's stage 2",
        _scalarized,
        stages="1->2",
        label_weights=True,
    )
    monkeypatch.setitem(METHODS, entry.name, entry)
    args = MethodArgs(name="static_then_rank", weights=[0.7, 0.3])  # the config accepts it
    module = ParetoPOModule(method=args)
    assert module.stage == 1 and StageSwitch._active(module)
    torch.testing.assert_close(module.current_weights(), torch.tensor([0.7, 0.3]).double())
    module.switch_to_stage2(5)
    assert (module.stage, module.switch_step) == (2, 5)
    torch.testing.assert_close(module.frozen_weights, torch.tensor([0.7, 0.3]).double())
    assert method_label("static_then_rank", [0.7, 0.3]) == "static_then_rank_0.7_0.3"
    assert not in_stage2("static_then_rank", 1) and in_stage2("static_then_rank", 2)
    A1, _ = method_advantages(args, 1, inputs())  # stage 1: scalarised, as static
    A_static, _ = method_advantages(MethodArgs(name="static", weights=[0.7, 0.3]), 1, inputs())
    torch.testing.assert_close(A1, A_static)
    A2, a2 = method_advantages(args, 2, inputs())  # stage 2: as ParetoPO's, credit included
    A_rank, a_rank = method_advantages(MethodArgs(name="stage2_only"), 2, inputs())
    torch.testing.assert_close((A2, a2), (A_rank, a_rank))


def test_gated_dominance_needs_accuracy_only_where_stage_2_runs() -> None:
    from lightning_paretopo.rewards import RewardHeads, ToolEfficiency

    heads = RewardHeads([ToolEfficiency()])
    ParetoPOModule(method=MethodArgs(name="static"), objectives=heads)  # no stage 2: fine
    with pytest.raises(ValueError, match=r"method\.stage2\.dominance='gated'"):
        ParetoPOModule(method=MethodArgs(name="paretopo"), objectives=heads)
    with pytest.raises(ValueError, match=r"method\.name='otc' needs an objective named"):
        ParetoPOModule(method=MethodArgs(name="otc"), objectives=heads)
    # paretopo_paper fixes plain Pareto fronts: no accuracy needed for its stage 2
    paper = MethodArgs(name="paretopo_paper", weights=[1.0])
    ParetoPOModule(method=paper, objectives=heads)
