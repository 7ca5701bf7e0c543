"""ensure_policy: a missing local policy is warm-started once; hub ids and saved ones are left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lightning_paretopo.warmstart import ensure
from lightning_paretopo.warmstart.ensure import ensure_policy, is_local_path


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

    def fake_run(cmd: list[str], check: bool) -> None:
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
    monkeypatch.setattr(ensure.subprocess, "run", lambda cmd, check: None)
    with pytest.raises(ValueError, match="ran but did not save a policy"):
        ensure_policy(str(tmp_path / "tiny"), str(config))
