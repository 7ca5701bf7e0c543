"""Cross-field config checks (``config_checks``) and torch thread defaults (``threads``): pure
checks by hand, and through the CLI, where they act before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from lightning_paretopo.cli import main
from lightning_paretopo.config_checks import check_fit_config
from lightning_paretopo.threads import choose_num_threads, default_num_threads

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
SWITCH = "lightning_paretopo.callbacks.StageSwitch"


def fit_config(max_steps: int | None, switch: dict | None, method: str = "paretopo", **trainer):
    callbacks = [{"class_path": "lightning_paretopo.callbacks.FrontLogger", "init_args": {}}]
    if switch is not None:
        callbacks.append({"class_path": SWITCH, "init_args": switch})
    return {
        "trainer": {"max_steps": -1 if max_steps is None else max_steps, "callbacks": callbacks}
        | trainer,
        "model": {
            "class_path": "lightning_paretopo.module.ParetoPOModule",
            "init_args": {"method": {"name": method}, "loss": {"ppo_epochs": 1}},
        },
    }


@pytest.mark.parametrize(
    ("max_steps", "switch", "message"),
    [
        (15, {"min_stage1_steps": 10}, r"min_stage1_steps \(10\) must be <= max_stage1_steps "
         r"\(default max_steps // 2 = 7\); lower min_stage1_steps or set max_stage1_steps"),
        (None, {}, r"max_stage1_steps is None and trainer.max_steps is unset"),
        (60, {"patience": 0}, r"patience must be an int >= 1"),
    ],
)  # fmt: skip
def test_switch_errors_name_the_callback_field_and_fix(max_steps, switch, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        check_fit_config(fit_config(max_steps, switch))
    assert r"trainer.callbacks[1] (StageSwitch.init_args)" in str(info.value)


def test_switch_rules_are_only_checked_where_they_apply() -> None:
    bad = {"min_stage1_steps": 10}
    assert check_fit_config(fit_config(15, bad, method="static")) == []  # never switches
    assert check_fit_config(fit_config(15, {**bad, "fixed_step": 5})) == []  # cap ignored
    assert check_fit_config(fit_config(15, {**bad, "max_stage1_steps": 12})) == []
    warmstart = {"trainer": {"max_steps": 1}, "model": {"init_args": {"lr": 1e-3}}}
    assert check_fit_config(warmstart) == []


@pytest.mark.parametrize(
    ("max_steps", "switch", "earliest"),
    [
        (2, {"min_stage1_steps": 10, "max_stage1_steps": 30, "patience": 5}, 10),
        (30, {"fixed_step": 30}, 30),
        (6, {"patience": 20}, 3),  # the default cap, max_steps // 2, is earlier: no warning
    ],
)
def test_a_switch_after_the_last_step_is_a_warning(max_steps, switch, earliest) -> None:
    warnings = check_fit_config(fit_config(max_steps, switch))
    if earliest < max_steps:
        assert warnings == []
    else:
        assert len(warnings) == 1 and "stage 2 never trains" in warnings[0]
        assert f"global step {earliest} at the earliest" in warnings[0]


def test_validation_interval_beyond_the_run_is_a_warning() -> None:
    config = fit_config(10, None, val_check_interval=10, check_val_every_n_epoch=None)
    assert check_fit_config(config) == []
    config["model"]["init_args"]["loss"]["ppo_epochs"] = 2  # 10 optimizer steps = 5 batches
    (warning,) = check_fit_config(config)
    assert "trainer.val_check_interval (10 training batches) > the run's 5" in warning
    config["trainer"]["check_val_every_n_epoch"] = 1  # counted per epoch: not checked here
    assert check_fit_config(config) == []


def test_the_switch_error_comes_before_the_run_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    overlay = tmp_path / "short.yaml"
    callbacks = [{"class_path": SWITCH, "init_args": {"min_stage1_steps": 10}}]
    overlay.write_text(yaml.safe_dump({"trainer": {"max_steps": 15, "callbacks": callbacks}}))
    args = ["fit", "--config", QUICKSTART, "--config", str(overlay), "--experiment", "short"]
    with pytest.raises(ValueError, match=r"cannot run:\n.*callbacks.*min_stage1_steps \(10\)"):
        main(args)  # the quickstart policy is not there: no warm start ran before the error
    assert not (tmp_path / "logs").exists()
    assert not list(tmp_path.rglob("wandb"))


def test_default_threads_on_small_machines() -> None:
    assert default_num_threads(1, {}) == 1
    assert default_num_threads(2, {}) == 1
    assert default_num_threads(3, {}) == 1
    assert default_num_threads(4, {}) == 2
    assert default_num_threads(5, {}) is None  # torch's own default
    assert default_num_threads(2, {"OMP_NUM_THREADS": "2"}) is None  # torch follows it
    assert choose_num_threads(3, 2, {"OMP_NUM_THREADS": "1"}) == (3, "--num_threads")
    assert choose_num_threads(None, 2, {})[0] == 1
    with pytest.raises(ValueError, match="--num_threads must be an int >= 1"):
        choose_num_threads(0, 2, {})


def test_the_cli_sets_threads_before_building(tmp_path, monkeypatch) -> None:
    # tests/conftest.py restores torch's threads after every test
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    main(["--config", QUICKSTART, "--num_threads", "3"], run=False)
    assert torch.get_num_threads() == 3
    monkeypatch.setattr("lightning_paretopo.threads.usable_cores", lambda: 2)
    main(["--config", QUICKSTART], run=False)
    assert torch.get_num_threads() == 1
