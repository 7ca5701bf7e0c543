"""The CLI runs the warm start of a missing local policy: after the classes are constructed
(which loads nothing) and before the command runs, so before ``configure_model``; global rank 0
launches it, another rank waits for it; ``configure_model`` itself only loads.

No real warm start here: the child process (``warmstart.ensure.subprocess.run``) is replaced by
one that writes ``config.json``, and the command itself (Lightning's ``_run_subcommand``: the
trainer's fit) by a recorder.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from lightning.pytorch.cli import LightningCLI

from lightning_paretopo.args import LossArgs, PolicyArgs
from lightning_paretopo.building import build_policy
from lightning_paretopo.cli import main
from lightning_paretopo.module import ParetoPOModule
from lightning_paretopo.warmstart import ensure

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
MODEL = "--model.init_args"


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happens, in order: the module's construction, the warm start (or a rank's wait)
    and the command, each with whether the policy is saved by then."""
    monkeypatch.chdir(tmp_path)
    for name in ensure.LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    seen: list[str] = []
    saved = tmp_path / "tiny" / "config.json"

    def save_policy() -> None:
        saved.parent.mkdir()
        saved.write_text("{}")

    def fake_warm_start(cmd: list[str], check: bool, env: dict[str, str]) -> None:
        seen.append(f"warm start: {saved.is_file()}")
        save_policy()

    def fake_wait(seconds: float) -> None:
        seen.append(f"wait: {saved.is_file()}")
        save_policy()  # rank 0, meanwhile

    init = ParetoPOModule.__init__

    @functools.wraps(init)  # jsonargparse reads the signature
    def recording_init(self, *args, **kwargs) -> None:
        seen.append(f"module: {saved.is_file()}")
        init(self, *args, **kwargs)

    monkeypatch.setattr(ensure.subprocess, "run", fake_warm_start)
    monkeypatch.setattr(ensure.time, "sleep", fake_wait)
    monkeypatch.setattr(ParetoPOModule, "__init__", recording_init)
    monkeypatch.setattr(
        LightningCLI, "_run_subcommand", lambda self, sub: seen.append(f"{sub}: {saved.is_file()}")
    )
    return seen


def _fit(tmp_path: Path) -> None:
    warmstart = tmp_path / "ws.yaml"
    warmstart.write_text("model: {}\n")
    policy = [f"{MODEL}.policy.name_or_path={tmp_path / 'tiny'}", f"{MODEL}.policy.warmstart"]
    main(["fit", "--config", QUICKSTART, "--trainer.logger", "false", *policy, str(warmstart)])


def test_rank_zero_warm_starts_before_the_command_runs(tmp_path, events) -> None:
    _fit(tmp_path)
    assert events == ["module: False", "warm start: False", "fit: True"]


def test_a_non_zero_rank_waits_instead_of_launching(tmp_path, events, monkeypatch) -> None:
    monkeypatch.setenv("RANK", "1")  # torchrun's second process
    monkeypatch.setenv("LOCAL_RANK", "1")
    _fit(tmp_path)
    assert events == ["module: False", "wait: False", "fit: True"]


def test_a_saved_policy_is_left_alone(tmp_path, events) -> None:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "config.json").write_text("{}")
    _fit(tmp_path)
    assert events == ["module: True", "fit: True"]


def test_configure_model_only_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ensure.subprocess, "run", lambda *a, **k: pytest.fail("launched"))
    warmstart = tmp_path / "ws.yaml"
    warmstart.write_text("model: {}\n")
    args = PolicyArgs(name_or_path=str(tmp_path / "tiny"), warmstart=str(warmstart))
    with pytest.raises(ValueError, match=r"policy.name_or_path: .*tiny has no saved policy.*CLI"):
        build_policy(args, LossArgs())
