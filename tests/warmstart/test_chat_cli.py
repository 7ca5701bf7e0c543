"""The SmolLM2 CPU configs end to end through the CLI, on a tiny random chat policy (seconds):
the chat warm start saves a merged policy with its chat settings, and ParetoPO trains a fresh
LoRA on it with prompts rendered exactly as the warm start rendered them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import yaml
from transformers import LlamaForCausalLM

from lightning_paretopo.cli import main
from lightning_paretopo.data.arith import generate_arith
from lightning_paretopo.policy.saving import checkpoint_delta_norm
from tests.helpers import tiny_smollm2_rl_config
from tests.rollout.conftest import llama_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_chat_policy(tok, path: Path) -> Path:
    torch.manual_seed(0)
    config = llama_config(tok)
    config.max_position_embeddings = 2048  # the hermes prompt is ~700 characters
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _warm_start_config(tmp_path: Path, base: Path) -> Path:
    config = yaml.safe_load((REPO / "configs/warmstart/smollm2_arith.yaml").read_text())
    config["trainer"].update(enable_progress_bar=False, log_every_n_steps=1)
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "logs")
    model = config["model"]["init_args"]
    model.update(policy=str(base), output_dir=str(tmp_path / "tools"), lora={"r": 2})
    model["evaluation"].update(samples_per_task=1, max_new_tokens=8, max_total_tokens=1024)
    config["data"]["init_args"].update(n_train=8, n_val=2, n_eval=2, batch_size=4)
    path = tmp_path / "warmstart.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _rl_config(tmp_path: Path, warm_start: Path) -> Path:
    return tiny_smollm2_rl_config(
        tmp_path, warm_start, group_size=2, max_new_tokens=8, max_total_tokens=1024
    )


def test_chat_warm_start_then_paretopo_through_the_cli(
    chat_tok, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.chdir(tmp_path)
    warm_start = _warm_start_config(tmp_path, _tiny_chat_policy(chat_tok, tmp_path / "base"))
    ws = main(["fit", "--config", str(warm_start)])
    tools = tmp_path / "tools"
    for name in ["config.json", "chat_template.jinja", "warmstart_chat.json",
                 "warmstart_eval.md", "warmstart_eval_before.md"]:  # fmt: skip
        assert (tools / name).is_file(), name
    assert not (tools / "adapter_config.json").exists()  # merged: a plain HF directory
    assert json.loads((tools / "warmstart_chat.json").read_text())["tools_in"] == "auto"

    with caplog.at_level(logging.WARNING, logger="lightning_paretopo"):
        rl = main(["fit", "--config", str(_rl_config(tmp_path, warm_start))])
    assert rl.trainer.global_step == 2
    assert "warm-started with other chat settings" not in caplog.text
    # the RL rollouts' prompt is the warm start's trace prompt, character for character
    task = generate_arith(1, 0, split="val")[0]
    assert rl.model.engine.protocol.render_prompt(task) == ws.datamodule.protocol.render_prompt(
        task
    )
    run_dir = tmp_path / "logs" / "rl" / "paretopo-s0"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["global_step"] == 2 and (run_dir / "checkpoints" / "last.ckpt").is_file()
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert all("lora_" in k for k in torch.load(ckpt, weights_only=True)["state_dict"])
    assert checkpoint_delta_norm(ckpt) >= 0.0  # the adapters' change, read from the checkpoint
