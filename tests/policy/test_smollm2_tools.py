"""The real SmolLM2-135M-Instruct through the SmolLM2 CPU configs, shrunk (minutes): a tiny
tool-use warm start makes it call the calculator by itself, then ParetoPO steps on a fresh
LoRA parse its calls and move the adapters.

Slow, and skipped cleanly unless ``make smollm2`` has written the converted model.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

from lightning_paretopo.cli import main
from lightning_paretopo.policy.saving import checkpoint_delta_norm
from tests.helpers import tiny_smollm2_rl_config

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "logs" / "policies" / "smollm2-135m-instruct"
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def base() -> Path:
    if not (BASE / "config.json").is_file():
        pytest.skip(f"{BASE} not found: run `make smollm2`")
    return BASE


def _warm_start(tmp_path: Path, base: Path) -> Path:
    """24 traces of one calculator call on hard problems (6 steps of 4), no evaluation."""
    config = yaml.safe_load((REPO / "configs/warmstart/smollm2_arith.yaml").read_text())
    config["trainer"].update(enable_progress_bar=False, log_every_n_steps=1)
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "logs")
    model = config["model"]["init_args"]
    model.update(policy=str(base), output_dir=str(tmp_path / "tools"), lr=0.002, warmup_steps=1)
    model.update(evaluate_before=False, evaluation={"enabled": False})
    data = config["data"]["init_args"]
    data.update(n_train=24, n_val=4, n_eval=1, batch_size=4, tier_weights={"easy": 0, "medium": 0})
    data["behaviour_probs"] = {"*": {"single_call": 1.0}}
    path = tmp_path / "warmstart.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _rl(tmp_path: Path, warm_start: Path) -> Path:
    return tiny_smollm2_rl_config(tmp_path, warm_start)


def test_a_tiny_warm_start_makes_smollm2_call_and_paretopo_moves_its_adapters(
    base, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    warm_start = _warm_start(tmp_path, base)
    main(["fit", "--config", str(warm_start)])
    assert (tmp_path / "tools" / "config.json").is_file()

    rl = main(["fit", "--config", str(_rl(tmp_path, warm_start))])
    assert rl.trainer.global_step == 2
    run_dir = tmp_path / "logs" / "rl" / "paretopo-s0"
    rows = list(csv.DictReader(next(run_dir.rglob("metrics.csv")).open()))
    called = [float(r["train/called"]) for r in rows if r.get("train/called")]
    zero = [float(r["train/zero_advantage_groups"]) for r in rows if r.get("train/called")]
    assert len(called) == 2 and max(called) > 0  # calls of its own, parsed by the engine
    assert min(zero) < 1  # some group's rewards varied: non-zero advantages
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert all("lora_" in k for k in torch.load(ckpt, weights_only=True)["state_dict"])
    assert checkpoint_delta_norm(ckpt) > 0  # a fresh LoRA (B = 0) moved: gradients reached it
