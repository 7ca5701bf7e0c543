"""The CLI's run rules: an explicit ``--ckpt_path`` for fit / validate / test, evaluation never
overwrites the training config, a new fit never mixes with an earlier run, a changed meaning
is refused on resume, and a second live run of one directory stops at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from lightning_paretopo.cli import main
from lightning_paretopo.runlock import RunDirInUse, RunLock
from tests.helpers import tiny_quickstart

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
pytestmark = pytest.mark.usefixtures("one_thread")
TINY = [*tiny_quickstart(eval_size=2, test_samples=1), "--trainer.limit_test_batches=1"]


@pytest.fixture
def run(tiny_policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    policy = f"--model.init_args.policy.name_or_path={tiny_policy}"

    def command(subcommand: str, *extra: str):
        return main([subcommand, "--config", QUICKSTART, policy, *TINY, *extra])

    return command


def test_a_finished_run_can_be_evaluated_resumed_and_is_guarded(run, tmp_path: Path) -> None:
    run("fit")
    run_dir = tmp_path / "logs" / "quickstart" / "paretopo-s0"
    last = run_dir / "checkpoints" / "last.ckpt"
    config = (run_dir / "config.yaml").read_bytes()
    assert torch.load(last, weights_only=True)["run_config"]["model"]["rollout"]["group_size"] == 2

    # An explicit checkpoint path works for every subcommand; config.yaml stays the fit's.
    validate = run("validate", f"--ckpt_path={last}")
    assert "val/accuracy" in validate.trainer.callback_metrics
    test = run("test", f"--ckpt_path={last}")
    assert "test/accuracy" in test.trainer.callback_metrics
    assert (run_dir / "config.yaml").read_bytes() == config
    for name in ("config-validate.yaml", "config-test.yaml"):
        assert yaml.safe_load((run_dir / name).read_text())["ckpt_path"] == str(last)

    # A new fit does not start over an earlier run's files.
    with pytest.raises(FileExistsError, match="already holds a run.*--ckpt_path last"):
        run("fit")
    # Resuming with another meaning is refused, naming the fields; the flag lets it through.
    with pytest.raises(ValueError, match=r"group_size: 2 in the checkpoint, 4 now"):
        run("fit", "--ckpt_path=last", "--model.init_args.rollout.group_size=4")
    with pytest.raises(ValueError, match=r"method.name: 'paretopo' in the checkpoint, 'otc' now"):
        run("fit", "--ckpt_path=last", "--model.init_args.method.name=otc", "--run_name=paretopo")
    resumed = run("fit", f"--ckpt_path={last}", "--trainer.max_steps=4")
    assert resumed.trainer.global_step == 4
    assert (run_dir / "config.yaml").read_bytes() == config
    assert (run_dir / "config-resume.yaml").is_file()
    drifted = run("fit", "--ckpt_path=last", "--trainer.max_steps=6",
                  "--model.init_args.rollout.group_size=4", "--allow_config_drift=true")  # fmt: skip
    assert drifted.trainer.global_step == 6

    # While another process holds the directory, a second run stops before it trains.
    holder = RunLock(run_dir).acquire("python train.py fit (the other run)")
    try:
        with pytest.raises(RunDirInUse, match="in use by another run.*the other run"):
            run("fit", "--ckpt_path=last", "--trainer.max_steps=8",
                "--model.init_args.rollout.group_size=4")  # fmt: skip
    finally:
        holder.release()
    assert torch.load(last, weights_only=True)["global_step"] == 6


def test_a_missing_explicit_checkpoint_fails_before_anything_is_built(run, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="--ckpt_path nowhere.ckpt: no such checkpoint"):
        run("test", "--ckpt_path=nowhere.ckpt")
    assert not (tmp_path / "logs").exists()


def test_last_without_a_checkpoint_starts_a_first_run(run, tmp_path: Path, caplog) -> None:
    cli = run("fit", "--ckpt_path=last", "--trainer.max_steps=1")
    assert cli.trainer.global_step == 1
    assert "no last.ckpt in" in caplog.text
