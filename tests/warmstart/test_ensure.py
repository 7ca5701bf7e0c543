"""ensure_policy: a missing local policy is warm-started once; hub ids and saved ones are left.
ensure_policy_once: rank 0 (by the launcher's environment) runs it, other ranks wait for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lightning_paretopo.policy.loading import is_local_path
from lightning_paretopo.warmstart import ensure
from lightning_paretopo.warmstart.ensure import ensure_policy


def test_hub_ids_and_saved_policies_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("must not run"))
    assert not is_local_path("Qwen/Qwen2.5-1.5B-Instruct")
    assert is_local_path("logs/policies/tiny-arith") and is_local_path(str(tmp_path))
    assert ensure_policy("Qwen/Qwen2.5-1.5B-Instruct", "configs/warmstart/arith.yaml") is False
    (tmp_path / "config.json").write_text("{}")
    assert ensure_policy(str(tmp_path), "configs/warmstart/arith.yaml") is False


def test_a_missing_policy_without_a_usable_warm_start_names_the_field(tmp_path):
    missing = str(tmp_path / "tiny")
    with pytest.raises(ValueError, match=r"policy.name_or_path: .* set policy.warmstart"):
        ensure_policy(missing, None)
    with pytest.raises(ValueError, match=r"policy.warmstart: config file .*nope.yaml not found"):
        ensure_policy(missing, str(tmp_path / "nope.yaml"))


def test_a_missing_policy_runs_the_warm_start_into_its_path(tmp_path, monkeypatch):
    target, config = tmp_path / "tiny", tmp_path / "ws.yaml"
    config.write_text("model: {}\n")
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], check: bool, env: dict[str, str]) -> None:
        calls.append(cmd)
        out = Path(cmd[-1].split("=", 1)[1])
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(ensure.subprocess, "run", fake_run)
    assert ensure_policy(str(target), str(config)) is True
    assert calls == [
        [sys.executable, "-m", "lightning_paretopo", "fit", "--config", str(config),
         f"--model.init_args.output_dir={target}"]
    ]  # fmt: skip
    assert ensure_policy(str(target), str(config)) is False  # now saved: not run again
    assert len(calls) == 1


def test_a_warm_start_that_saves_nothing_is_an_error(tmp_path, monkeypatch):
    config = tmp_path / "ws.yaml"
    config.write_text("model: {}\n")
    monkeypatch.setattr(ensure.subprocess, "run", lambda cmd, check, env: None)
    with pytest.raises(ValueError, match="ran but did not save a policy"):
        ensure_policy(str(tmp_path / "tiny"), str(config))


@pytest.mark.parametrize(
    ("env", "zero"),
    [
        ({}, True),  # python train.py
        ({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}, True),  # torchrun, rank 0
        ({"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}, False),  # torchrun, rank 1
        ({"RANK": "2", "LOCAL_RANK": "0"}, False),  # torchrun, second node's first rank
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, False),  # Lightning's launcher, child
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),  # Lightning's launcher, second node
        ({"GLOBAL_RANK": "3"}, False),
    ],
)
def test_launch_rank_zero_reads_the_launchers_variables(env, zero):
    assert ensure.launch_rank_zero(env) is zero


def test_the_warm_start_child_gets_no_launcher_variables():
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_PORT": "29500",
           "TORCHELASTIC_RUN_ID": "x", "PATH": "/bin", "OMP_NUM_THREADS": "1"}  # fmt: skip
    assert ensure.child_env(env) == {"PATH": "/bin", "OMP_NUM_THREADS": "1"}


def _missing_policy(tmp_path: Path) -> tuple[Path, Path]:
    target, config = tmp_path / "tiny", tmp_path / "ws.yaml"
    config.write_text("model: {}\n")
    return target, config


def test_rank_zero_runs_the_warm_start_once(tmp_path, monkeypatch):
    target, config = _missing_policy(tmp_path)
    for name in ensure.RANK_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RANK", "0")
    calls: list[dict[str, str]] = []

    def fake_run(cmd: list[str], check: bool, env: dict[str, str]) -> None:
        calls.append(env)
        target.mkdir()
        (target / "config.json").write_text("{}")

    monkeypatch.setattr(ensure.subprocess, "run", fake_run)
    assert ensure.ensure_policy_once(str(target), str(config)) is True
    assert len(calls) == 1 and "RANK" not in calls[0]


def test_a_non_zero_rank_waits_for_rank_zero_instead_of_launching(tmp_path, monkeypatch):
    target, config = _missing_policy(tmp_path)
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(ensure.subprocess, "run", lambda *a, **k: pytest.fail("launched"))
    polls: list[float] = []

    def rank_zero_saves_meanwhile(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            target.mkdir()
            (target / "config.json").write_text("{}")

    monkeypatch.setattr(ensure.time, "sleep", rank_zero_saves_meanwhile)
    assert ensure.ensure_policy_once(str(target), str(config)) is False
    assert len(polls) == 3  # waited until the policy appeared


def test_a_non_zero_rank_that_waits_too_long_names_the_path_and_config(tmp_path, monkeypatch):
    target, config = _missing_policy(tmp_path)
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(ensure.time, "sleep", lambda seconds: None)
    with pytest.raises(TimeoutError, match=r"rank 0's warm start \(policy.warmstart: .*ws.yaml\)"):
        ensure.ensure_policy_once(str(target), str(config), timeout_s=0.0)
    with pytest.raises(ValueError, match=r"policy.name_or_path: .* set policy.warmstart"):
        ensure.ensure_policy_once(str(target), None)  # no config: the same error as rank 0's
