"""``args``: each argument group validates itself, naming the field; dicts (as stored in a
checkpoint's hyper-parameters) turn back into the dataclasses."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from lightning_paretopo.args import (
    LossArgs,
    MethodArgs,
    PolicyArgs,
    RolloutArgs,
    Stage1Args,
    Stage2Args,
    as_args,
)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: RolloutArgs(group_size=1), r"rollout\.group_size"),
        (lambda: RolloutArgs(protocol="xml"), r"rollout\.protocol"),
        (lambda: RolloutArgs(max_new_tokens=0), r"rollout\.max_new_tokens must be >= 1"),
        (lambda: RolloutArgs(max_turns=0), r"rollout\.max_turns must be >= 1"),
        (lambda: RolloutArgs(max_total_tokens=1), r"rollout\.max_total_tokens must be >= 2"),
        (lambda: RolloutArgs(temperature=0.0), r"rollout\.temperature must be > 0.*val_greedy"),
        (lambda: RolloutArgs(temperature=-1.0), r"rollout\.temperature must be > 0"),
        (lambda: RolloutArgs(top_p=0.0), r"rollout\.top_p must be in \(0, 1\]"),
        (lambda: LossArgs(ppo_epochs=0), r"loss\.ppo_epochs"),
        (lambda: LossArgs(aggregation="sum"), r"loss\.aggregation"),
        (lambda: MethodArgs(name="ppo"), r"method\.name"),
        (lambda: Stage1Args(scale="batch"), r"method\.stage1\.scale"),
        (lambda: Stage2Args(tie_break="random"), r"method\.stage2\.tie_break"),
        (lambda: Stage2Args(tau=1.0), r"method\.stage2\.tau"),
        (lambda: Stage2Args(dominance="deb"), r"method\.stage2\.dominance"),
        (lambda: Stage2Args(score="hv"), r"method\.stage2\.score"),
        (lambda: Stage2Args(paper_beta=1.5), r"method\.stage2\.paper_beta"),
        (lambda: Stage1Args(anchor="front"), r"method\.stage1\.anchor"),
        (lambda: Stage1Args(meta_gamma=1.0), r"method\.stage1\.meta_gamma"),
    ],
)
def test_bad_values_name_the_field(build, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()


def test_dicts_round_trip() -> None:
    method = MethodArgs(name="static", weights=[0.8, 0.2], stage2=Stage2Args(tau=0.25))
    back = as_args(MethodArgs, asdict(method))
    assert back == method and isinstance(back.stage2, Stage2Args) and back.stage2.tau == 0.25
    assert as_args(PolicyArgs, None) == PolicyArgs()
    policy = PolicyArgs(name_or_path="/p")
    assert as_args(PolicyArgs, policy) is policy


def test_nested_dicts_are_validated() -> None:
    with pytest.raises(ValueError, match=r"method\.stage1\.scale"):
        MethodArgs(stage1={"scale": "batch"})


def test_paretopo_defaults_are_the_ones_chosen_by_evidence() -> None:
    """docs/algorithm.md, "Defaults chosen by evidence": anchor point, score hv_gradient,
    dominance gated; the spec's choices stay options."""
    from lightning_paretopo.args import Stage1Args, Stage2Args

    assert (Stage1Args().anchor, Stage2Args().score, Stage2Args().dominance) == (
        "point", "hv_gradient", "gated"
    )  # fmt: skip
    Stage1Args(anchor="archive"), Stage2Args(score="rank"), Stage2Args(score="paper")
