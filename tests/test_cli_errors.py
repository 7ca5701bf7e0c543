"""Bad settings fail before anything starts, naming the field; ``--x null`` means None.

The quickstart config is used as it ships, with one override, from a temporary working
directory: a command that fails at construction must leave no ``logs/<experiment>`` behind (the
quickstart policy need not exist: the errors come before it is loaded or warm-started).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lightning_paretopo.cli import main
from lightning_paretopo.cli_args import nested_nulls_as_dicts

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
MODEL = "--model.init_args"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (f"{MODEL}.optimizer.init_args.lr=-0.001", r"optimizer\.init_args\.lr must be > 0"),
        (f"{MODEL}.rollout.max_new_tokens=0", r"rollout\.max_new_tokens must be >= 1"),
        (f"{MODEL}.rollout.temperature=0", r"rollout\.temperature must be > 0"),
    ],
)
def test_bad_setting_fails_before_the_run_directory_exists(
    tmp_path, monkeypatch, override: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", QUICKSTART, "--experiment", "bad_setting", override]
    with pytest.raises(ValueError, match=message):
        main(args)
    assert not (tmp_path / "logs" / "bad_setting").exists()
    assert not list(tmp_path.rglob("wandb"))


def test_temperature_error_names_the_greedy_setting_that_exists(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"rollout\.val_greedy") as info:
        main(["--config", QUICKSTART, f"{MODEL}.rollout.temperature=-1"], run=False)
    assert "do_sample" not in str(info.value)


def test_null_on_the_command_line_is_none_at_any_depth(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--config", QUICKSTART, "--run_name", "null", f"{MODEL}.policy.warmstart", "null"]
    args += [f"{MODEL}.policy.lora=null", f"{MODEL}.loss.clip_eps_high", "~"]
    cli = main(args, run=False)
    assert cli.config["run_name"] is None
    assert cli.model.policy_args.warmstart is None  # not the string "None"
    assert cli.model.policy_args.lora is None and cli.model.loss_args.clip_eps_high is None
    assert cli.model.policy_args.name_or_path == "logs/policies/tiny-arith"  # siblings kept
    assert cli.model.loss_args.clip_eps == 0.2


def test_null_reaches_a_subcommand(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", QUICKSTART, f"{MODEL}.policy.warmstart", "null", "--print_config"]
    with pytest.raises(SystemExit):
        main(args)
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["init_args"]["policy"]["warmstart"] is None


def test_nested_nulls_as_dicts_rewrites_only_nested_nulls() -> None:
    options = {"--model", "--trainer.max_steps", "--run_name"}
    args = ["fit", "--model.init_args.policy.warmstart", "null", "--model.a.b.c=~"]
    args += ["--run_name", "null", "--trainer.max_steps", "null", "--model.init_args.x", "null"]
    args += ["--model.init_args.policy.warmstart", "None", "--model.init_args.policy.dtype=NULL"]
    assert nested_nulls_as_dicts(args, options) == [
        "fit",
        "--model.init_args.policy",
        '{"warmstart": null}',
        "--model.a",
        '{"b": {"c": null}}',
        "--run_name",
        "null",
        "--trainer.max_steps",
        "null",
        "--model.init_args.x",
        "null",
        "--model.init_args.policy.warmstart",
        "None",  # YAML reads None as a string; only null, Null, NULL and ~ are null
        "--model.init_args.policy",
        '{"dtype": null}',
    ]
