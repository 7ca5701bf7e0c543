"""The CLI: subcommands, subclass mode, omegaconf interpolation (and its override trap), train.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from lightning_paretopo.cli import ParetoPOCLI, main
from lightning_paretopo.warmstart.module import WarmStartDataModule, WarmStartModule

REPO = Path(__file__).resolve().parents[1]
ARITH = REPO / "configs" / "warmstart" / "arith.yaml"
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 64}


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _small_config(tmp_path: Path, **model_overrides: object) -> Path:
    config = yaml.safe_load(ARITH.read_text())
    config["trainer"].update(max_steps=2, limit_val_batches=1, limit_test_batches=1)
    config["trainer"].update(enable_progress_bar=False, log_every_n_steps=1)
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "logs")
    config["trainer"]["callbacks"][0]["init_args"]["dirpath"] = str(tmp_path / "ckpt")
    model = config["model"]["init_args"]
    model.update(tiny_config=TINY, output_dir=str(tmp_path / "policy"), **model_overrides)
    model["evaluation"]["enabled"] = False
    config["data"]["init_args"].update(n_train=16, n_val=8, n_eval=4, batch_size=8, fact_passes=0)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_commands_are_fit_validate_test() -> None:
    assert set(ParetoPOCLI.subcommands()) == {"fit", "validate", "test"}


def test_shipped_warmstart_configs_instantiate_in_subclass_mode() -> None:
    for task in ("arith", "kbqa"):
        cli = main(["--config", str(REPO / "configs" / "warmstart" / f"{task}.yaml")], run=False)
        assert isinstance(cli.model, WarmStartModule)
        assert isinstance(cli.datamodule, WarmStartDataModule)
        assert cli.datamodule.task == task
        assert cli.model.hparams.output_dir == f"logs/policies/tiny-{task}"
        assert cli.config["seed_everything"] == 0
        assert cli.trainer.checkpoint_callback.dirpath.endswith(
            f"logs/checkpoints/warmstart-{task}"
        )
        assert cli.trainer.checkpoint_callback.save_last is True
        n_params = sum(p.numel() for p in cli.model.model.parameters())
        assert 1_000_000 <= n_params <= 5_000_000


def test_omegaconf_resolves_within_a_file_but_not_from_command_line_overrides(tmp_path) -> None:
    config = yaml.safe_load(ARITH.read_text())
    config["model"]["init_args"]["output_dir"] = "logs/policies/tiny-${data.init_args.task}"
    path = tmp_path / "interpolated.yaml"
    path.write_text(yaml.safe_dump(config))
    cli = main(["--config", str(path)], run=False)
    assert cli.model.hparams.output_dir == "logs/policies/tiny-arith"
    # The documented trap of parser_mode="omegaconf": the override is applied after the file
    # was resolved, so the interpolated field keeps the file's value.
    cli = main(["--config", str(path), "--data.init_args.task=kbqa"], run=False)
    assert cli.datamodule.task == "kbqa"
    assert cli.model.hparams.output_dir == "logs/policies/tiny-arith"


def test_fit_then_validate_and_test_from_the_last_checkpoint(tmp_path) -> None:
    config = _small_config(tmp_path)
    fit = main(["fit", "--config", str(config)])
    assert fit.trainer.global_step == 2
    last = tmp_path / "ckpt" / "last.ckpt"
    assert last.is_file() and (tmp_path / "policy" / "model.safetensors").is_file()
    validate = main(["validate", "--config", str(config), f"--ckpt_path={last}"])
    assert "val/loss" in validate.trainer.callback_metrics
    test = main(["test", "--config", str(config), f"--ckpt_path={last}"])
    assert "test/loss" in test.trainer.callback_metrics
    assert torch.isfinite(test.trainer.callback_metrics["test/loss"])
    # The resolved config is saved next to the logs (overwrite=True: re-runs do not fail).
    assert list((tmp_path / "logs").rglob("config.yaml"))


def test_train_py_only_calls_main() -> None:
    tree = ast.parse((REPO / "train.py").read_text())
    body = [node for node in tree.body if not isinstance(node, ast.Expr | ast.ImportFrom)]
    assert len(body) == 1 and isinstance(body[0], ast.If)
    assert ast.unparse(body[0]) == "if __name__ == '__main__':\n    main()"
    out = subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "{fit,validate,test}" in out.stdout
