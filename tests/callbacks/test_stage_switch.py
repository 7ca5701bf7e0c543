"""StageSwitch with a real Trainer on a stand-in module whose archive HV plateaus at step 5."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from lightning_paretopo.callbacks import StageSwitch, relative_hv_gain

from .standin import STANDIN_WARNINGS, StandInModule, StopAt, hv_after, loader, make_trainer

pytestmark = STANDIN_WARNINGS


def fit(tmp_path: Path, switch: StageSwitch, max_steps: int = 20, method: str = "paretopo"):
    module = StandInModule(method=method)
    trainer = make_trainer(tmp_path, max_steps, [switch], limit_val_batches=0)
    trainer.fit(module, loader())
    return module, trainer


def test_relative_hv_gain_pinned() -> None:
    assert relative_hv_gain(0.25, 0.2) == pytest.approx(0.25)
    assert relative_hv_gain(0.25, 0.25) == 0.0
    assert relative_hv_gain(0.0, 0.0) == 0.0  # an HV stuck at 0 is a plateau
    assert relative_hv_gain(1e-13, 0.0) == pytest.approx(0.1)  # floor 1e-12
    assert relative_hv_gain(-0.5, -1.0) == pytest.approx(0.5)  # |hv_before|


def test_plateau_switch_at_expected_step(tmp_path: Path, caplog) -> None:
    # HV after s steps: 0.05 * min(s, 5). Relative gain over patience=3 steps at s: s=7 ->
    # (0.25 - 0.20) / 0.20 = 0.25; s=8 -> 0 < 1e-3: the switch is at step 8.
    switch = StageSwitch(patience=3, min_delta=1e-3)
    module = StandInModule()
    logger = CSVLogger(tmp_path, name="run")
    trainer = make_trainer(tmp_path, 20, [switch], limit_val_batches=0, logger=logger)
    with caplog.at_level(logging.INFO, logger="lightning_paretopo.callbacks.stage_switch"):
        trainer.fit(module, loader())
    assert (module.switch_step, module.stage) == (8, 2)
    assert module.switch_calls == 1  # once
    assert switch.state_dict() == {}  # no copy of the stage or of the HV: the module has them
    assert [r["step"] for r in module.train_history] == list(range(21))  # step 0 = train start
    hvs = [r["hv"] for r in module.train_history]
    assert hvs == pytest.approx([hv_after(s) for s in range(21)])
    assert module.w_star is not None
    assert "stage switch at global step 8 (plateau)" in caplog.text
    with open(Path(logger.log_dir) / "metrics.csv") as f:
        logged = [row for row in csv.DictReader(f) if row.get("train/switch_step")]
    # logged once, in the row of its batch (Lightning's logging step, one below global_step)
    assert [(float(r["train/switch_step"]), int(r["step"])) for r in logged] == [(8.0, 7)]


def test_min_stage1_steps_delays_the_plateau_switch(tmp_path: Path) -> None:
    switch = StageSwitch(min_stage1_steps=10, patience=3, min_delta=1e-3)
    module, _ = fit(tmp_path, switch, max_steps=24)  # default cap 12
    assert module.switch_step == 10


@pytest.mark.parametrize(
    ("kwargs", "max_steps", "expected"),
    [
        ({"max_stage1_steps": 6}, 14, 6),  # explicit cap
        ({}, 14, 7),  # default cap: max_steps // 2
        ({}, 15, 7),
    ],
)
def test_max_rule(tmp_path: Path, kwargs: dict, max_steps: int, expected: int) -> None:
    # min_delta = 0: a relative gain is never < 0 here, so only the cap can switch.
    switch = StageSwitch(patience=3, min_delta=0.0, **kwargs)
    module, _ = fit(tmp_path, switch, max_steps=max_steps)
    assert (module.switch_step, module.switch_calls) == (expected, 1)


@pytest.mark.parametrize("fixed_step", [4, 11])
def test_fixed_step_ignores_plateau_and_cap(tmp_path: Path, fixed_step: int) -> None:
    # the plateau rule alone would switch at 8 and the default cap (max_steps 14) at 7
    switch = StageSwitch(patience=3, min_delta=1e-3, fixed_step=fixed_step)
    module, _ = fit(tmp_path, switch, max_steps=14)
    assert (module.switch_step, module.switch_calls) == (fixed_step, 1)


@pytest.mark.parametrize(("method", "stage"), [("stage1_only", 1), ("stage2_only", 2)])
def test_other_methods_never_switch(tmp_path: Path, method: str, stage: int) -> None:
    switch = StageSwitch(patience=3, min_delta=1e-3)
    module, _ = fit(tmp_path, switch, method=method)
    assert (module.switch_calls, module.stage, module.switch_step) == (0, stage, None)


def test_method_from_method_args(tmp_path: Path) -> None:
    # a module that names its method as method_args.name (a MethodArgs) instead of `method`
    module = StandInModule()
    del module.method
    module.method_args = SimpleNamespace(name="paretopo")
    switch = StageSwitch(patience=3, min_delta=1e-3)
    make_trainer(tmp_path, 20, [switch], limit_val_batches=0).fit(module, loader())
    assert module.switch_step == 8
    del module.method_args
    with pytest.raises(ValueError, match="method_args.name"):
        switch.on_fit_start(None, module)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"patience": 0}, "patience"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"min_stage1_steps": -1}, "min_stage1_steps"),
        ({"max_stage1_steps": 0}, "max_stage1_steps"),
        ({"fixed_step": 0}, "fixed_step"),
        ({"min_stage1_steps": 10, "max_stage1_steps": 5}, "min_stage1_steps"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        StageSwitch(**kwargs)


def test_default_cap_needs_max_steps(tmp_path: Path) -> None:
    switch = StageSwitch()
    with pytest.raises(ValueError, match="max_stage1_steps"):
        switch.resolve_max_stage1_steps(-1)  # Trainer's max_steps when unset
    with pytest.raises(ValueError, match="min_stage1_steps"):
        StageSwitch(min_stage1_steps=8).resolve_max_stage1_steps(10)
    module = StandInModule()
    trainer = make_trainer(tmp_path, -1, [switch], max_epochs=1, limit_val_batches=0)
    with pytest.raises(ValueError, match="max_stage1_steps"):
        trainer.fit(module, loader())


def _interrupted_then_resumed(tmp_path: Path, stop_at: int) -> tuple[StandInModule, StageSwitch]:
    ckpt_dir = tmp_path / "ckpt"

    def checkpoint() -> ModelCheckpoint:
        return ModelCheckpoint(dirpath=ckpt_dir, save_last=True, every_n_train_steps=1)

    first = StageSwitch(patience=3, min_delta=1e-3)
    trainer = make_trainer(
        tmp_path, 20, [first, checkpoint(), StopAt(stop_at)], limit_val_batches=0,
        enable_checkpointing=True,
    )  # fmt: skip
    trainer.fit(StandInModule(), loader())
    assert trainer.global_step == stop_at
    switch, module = StageSwitch(patience=3, min_delta=1e-3), StandInModule()
    trainer = make_trainer(
        tmp_path, 20, [switch, checkpoint()], limit_val_batches=0, enable_checkpointing=True
    )
    trainer.fit(module, loader(), ckpt_path=ckpt_dir / "last.ckpt")
    assert trainer.global_step == 20
    return module, switch


def test_resume_before_switch_switches_at_the_same_step(tmp_path: Path) -> None:
    # Stopped at step 6: the decision at step 8 needs the HV of step 5, recorded before the
    # checkpoint. Without the restored history the resumed run would switch at step 9.
    uninterrupted, _ = fit(tmp_path / "ref", StageSwitch(patience=3, min_delta=1e-3))
    module, switch = _interrupted_then_resumed(tmp_path, stop_at=6)
    assert module.switch_step == uninterrupted.switch_step == 8
    assert module.switch_calls == 1
    hvs = [r["hv"] for r in module.train_history]  # restored, then continued
    assert hvs == pytest.approx([hv_after(s) for s in range(21)])
    assert module.w_star == pytest.approx(uninterrupted.w_star)


def test_resume_after_switch_does_not_switch_again(tmp_path: Path) -> None:
    module, switch = _interrupted_then_resumed(tmp_path, stop_at=10)
    assert (module.stage, module.switch_step) == (2, 8)
    assert module.switch_calls == 0
