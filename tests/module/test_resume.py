"""Exact resume: a run interrupted at step k and resumed from a checkpoint ends bit-identical
to the uninterrupted run (the project's acceptance test for checkpointing).

Run A trains S steps in one go. Run B trains the first k steps, then a NEW trainer, module and
datamodule (same seeds) continue from B's ``last.ckpt`` to step S. Run C (preemption) continues
A's own mid-run checkpoint of step k. The stage switch is placed after k and decided by the
plateau rule with patience 1, so B and C can only switch at A's step if the callback's HV
history came back. Validation runs every k steps and sampled (not greedy), so it would shift the
training samples if it drew from the training RNG; so would ``RunSummary``'s evaluation of the
starting policy, which a resumed run does not repeat. Everything logged, the module's ParetoPO state
(stage, switch step, w*, EMA point, archives, weights, rollout RNG), the data position, the
callbacks' state, the optimizer state and the policy parameters must be identical.

Checkpoints are the shipped configs' ``LastCheckpoint``: one ``last.ckpt``, rewritten after
each validation (C copies A's at step k before it is overwritten), not with
``every_n_train_steps=k``: Lightning saves those in ``on_train_batch_end``, before the validation
of the same step, and on resume it fast-forwards past that validation (``_TrainingEpochLoop.
advance``), so a run resumed from such a checkpoint has one validation record fewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from lightning import seed_everything
from lightning.pytorch.callbacks import Callback

from lightning_paretopo.args import MethodArgs, RolloutArgs, Stage1Args, Stage2Args
from lightning_paretopo.callbacks import FrontLogger, LastCheckpoint, RunSummary, StageSwitch
from lightning_paretopo.rewards import RewardHeads, ToolEfficiency

from .conftest import DigitShare, MemoryLogger, make_data, make_module, make_trainer

S, K_STEP = 4, 2  # total steps; the checkpoint (and validation) interval


class KeepMidRun(Callback):
    """Copies ``last.ckpt`` as it stood after step k's validation, before it is overwritten."""

    def __init__(self, root: Path) -> None:
        self.last, self.copy = root / "checkpoints" / "last.ckpt", root / f"step={K_STEP}.ckpt"

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == K_STEP and self.last.is_file():  # A, not C (resumed at k)
            self.copy.write_bytes(self.last.read_bytes())


def fit(root: Path, policy: Path, max_steps: int, val_greedy: bool, ckpt: Path | None = None):
    """One fit of the resume scenario; returns (trainer, module, data, switch, fronts)."""
    seed_everything(0)
    # Objectives without accuracy, so the archive HV is > 0 and moves (accuracy is always 0);
    # hence plain Pareto dominance (v1): gated dominance (the v2 default) needs accuracy.
    v1 = Stage2Args(dominance="pareto")
    module = make_module(
        policy,
        method=MethodArgs(name="paretopo", stage1=Stage1Args(alpha=0.5), stage2=v1),
        objectives=RewardHeads([DigitShare(), ToolEfficiency(budget=2)]),
        rollout=RolloutArgs(
            group_size=2, max_turns=2, max_new_tokens=16, max_total_tokens=96,
            val_greedy=val_greedy,
        ),
    )  # fmt: skip
    data = make_data(root)
    switch = StageSwitch(
        min_stage1_steps=K_STEP + 1, patience=1, min_delta=1e9, max_stage1_steps=10
    )
    fronts = FrontLogger(dirpath=root, log_wandb=False)
    summary = RunSummary(dirpath=str(root))  # evaluates at fit start, but not when resuming
    checkpoint = LastCheckpoint(dirpath=root / "checkpoints")
    trainer = make_trainer(
        root,
        max_steps=max_steps,
        callbacks=[switch, fronts, summary, checkpoint, KeepMidRun(root)],
        enable_checkpointing=True,
        limit_val_batches=None,
        val_check_interval=K_STEP,
    )
    trainer.fit(module, data, ckpt_path=None if ckpt is None else str(ckpt))
    return trainer, module, data, switch, fronts


def by_step(*loggers: MemoryLogger) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for logger in loggers:
        for step, metrics in logger.history:
            out.setdefault(step, {}).update(metrics)
    return out


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Recursive exact equality; tensors with torch.equal, floats NaN-aware."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape, where
        assert torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, 0, 0, True)), (
            where
        )
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} vs {b.keys()}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b, where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def paretopo_state(module) -> dict[str, Any]:
    checkpoint: dict[str, Any] = {}
    module.on_save_checkpoint(checkpoint)
    return checkpoint


def assert_same_run(A: tuple, B: tuple) -> None:
    (tA, mA, dA, sA, fA), (tB, mB, dB, sB, fB) = A, B
    assert tA.global_step == tB.global_step == S
    assert (mA.stage, mA.switch_step) == (mB.stage, mB.switch_step)
    assert_same(paretopo_state(mA), paretopo_state(mB), "module")
    assert_same(mA.hv_weights.state_dict(), mB.hv_weights.state_dict(), "hv_weights")
    assert_same(dA.state_dict(), dB.state_dict(), "data position")
    assert_same(sA.state_dict(), sB.state_dict(), "StageSwitch")
    assert_same(fA.state_dict(), fB.state_dict(), "FrontLogger")
    optimizer_A, optimizer_B = tA.optimizers[0].state_dict(), tB.optimizers[0].state_dict()
    assert_same(optimizer_A["state"], optimizer_B["state"], "optimizer")
    params_A, params_B = dict(mA.policy.named_parameters()), dict(mB.policy.named_parameters())
    assert params_A.keys() == params_B.keys()
    for name, p in params_A.items():
        assert torch.equal(p, params_B[name]), name


def run_a(tmp_path: Path, policy: Path, val_greedy: bool) -> tuple:
    A = fit(tmp_path / "A", policy, S, val_greedy)
    _, mA, *_ = A
    # The scenario exercises what it should: a switch after k, decided on restored history.
    assert mA.stage == 2 and mA.switch_step == K_STEP + 1
    assert [h["step"] for h in mA.val_history] == list(range(K_STEP, S + 1, K_STEP))
    assert mA.hv_weights.hypervolume > 0 and len(mA.run.val_archive) >= 1
    assert (tmp_path / "A" / "summary.json").is_file()
    return A


def test_resume_after_a_finished_fit_is_exact(tiny_policy: Path, tmp_path: Path) -> None:
    A = run_a(tmp_path, tiny_policy, val_greedy=False)
    B1 = fit(tmp_path / "B", tiny_policy, K_STEP, val_greedy=False)
    last = tmp_path / "B" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == K_STEP  # plain types only
    B2 = fit(tmp_path / "B", tiny_policy, S, val_greedy=False, ckpt=last)
    assert_same_run(A, B2)
    # Every logged value, in order. (Lightning shifts the logger's step index by one after
    # resuming a fit that ran to completion, `_TrainingEpochLoop.reset`; the values agree.)
    logged_A = [m for _, m in A[0].logger.history]
    logged_B = [m for _, m in B1[0].logger.history + B2[0].logger.history]
    assert_same(logged_A, logged_B, "logged metrics")
    keys = set().union(*logged_A)
    for key in ["train/hv", "train/weights/digits", "train/tool_calls", "val/hv", "val/accuracy"]:
        assert key in keys, key


@pytest.mark.parametrize("val_greedy", [False, True], ids=["sampled", "greedy"])
def test_resume_after_preemption_is_exact(
    tiny_policy: Path, tmp_path: Path, val_greedy: bool
) -> None:
    A = run_a(tmp_path, tiny_policy, val_greedy)
    mid_run = tmp_path / "A" / f"step={K_STEP}.ckpt"
    assert sorted(p.name for p in (tmp_path / "A" / "checkpoints").iterdir()) == ["last.ckpt"]
    C = fit(tmp_path / "C", tiny_policy, S, val_greedy, ckpt=mid_run)
    assert_same_run(A, C)
    logged_A = by_step(A[0].logger)
    logged_C = by_step(C[0].logger)
    assert sorted(logged_C) == list(range(K_STEP, S))  # the same logger steps as A
    for step in logged_C:
        assert_same(logged_A[step], logged_C[step], f"metrics at step {step}")
