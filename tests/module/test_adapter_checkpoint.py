"""Adapter-only LoRA checkpoints: ``last.ckpt`` of a LoRA run holds the adapters only (the base
reloads from ``policy.name_or_path``), and a resume from it ends exactly where the
uninterrupted run ends (parameters, optimizer state, ParetoPO state). Full fine-tuning still
saves every weight."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning import seed_everything

from lightning_paretopo.adapter_checkpoint import (
    adapter_state_dict,
    check_adapter_state,
    trainable_keys,
)
from lightning_paretopo.callbacks import LastCheckpoint
from lightning_paretopo.module import ParetoPOModule

from .conftest import make_data, make_module, make_trainer, objectives
from .test_resume import assert_same, paretopo_state

LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
S, K_STEP = 4, 2


def fit(root: Path, policy: Path, max_steps: int, ckpt: Path | None = None, lora=LORA):
    seed_everything(0)
    module, data = make_module(policy, lora=lora), make_data(root)
    trainer = make_trainer(
        root,
        max_steps=max_steps,
        callbacks=[LastCheckpoint(dirpath=root / "checkpoints")],
        enable_checkpointing=True,
    )
    trainer.fit(module, data, ckpt_path=None if ckpt is None else str(ckpt))
    return trainer, module


def numel(state: dict) -> int:
    return sum(t.numel() for t in state.values())


def test_lora_checkpoint_holds_the_adapters_and_resumes_exactly(
    tiny_policy: Path, tmp_path: Path
) -> None:
    tA, mA = fit(tmp_path / "A", tiny_policy, S)
    _, mB = fit(tmp_path / "B", tiny_policy, K_STEP)
    last = tmp_path / "B" / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    keys = set(saved["state_dict"])
    assert keys and all(".lora_" in k for k in keys), sorted(keys)
    assert keys == trainable_keys(mB)
    adapters = sum(p.numel() for p in mB.policy.parameters() if p.requires_grad)
    everything = sum(p.numel() for p in mB.policy.parameters())
    assert numel(saved["state_dict"]) == adapters < everything / 10
    assert saved["hyper_parameters"]["policy"]["name_or_path"] == str(tiny_policy)
    tC, mC = fit(tmp_path / "B", tiny_policy, S, ckpt=last)  # the base reloads from its path
    assert tA.global_step == tC.global_step == S
    params_A, params_C = dict(mA.named_parameters()), dict(mC.named_parameters())
    assert params_A.keys() == params_C.keys()
    for name, p in params_A.items():
        assert torch.equal(p, params_C[name]), name
    assert_same(tA.optimizers[0].state_dict(), tC.optimizers[0].state_dict(), "optimizer")
    assert_same(paretopo_state(mA), paretopo_state(mC), "module")
    moved = [n for n, p in mA.named_parameters() if p.requires_grad and p.abs().sum() > 0]
    assert any("lora_B" in n for n in moved)  # the adapters trained (lora_B starts at 0)
    path = tmp_path / "A" / "checkpoints" / "last.ckpt"
    restored = ParetoPOModule.load_from_checkpoint(path, objectives=objectives())
    for name, p in restored.named_parameters():
        assert torch.equal(p, params_A[name]), name


def test_full_fine_tuning_still_saves_every_weight(tiny_policy: Path, tmp_path: Path) -> None:
    _, module = fit(tmp_path, tiny_policy, 1, lora=None)
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert set(saved["state_dict"]) == set(module.state_dict())


def test_a_checkpoint_of_other_lora_settings_is_refused(tiny_policy: Path, tmp_path: Path):
    fit(tmp_path, tiny_policy, 1)
    last = tmp_path / "checkpoints" / "last.ckpt"
    other = {**LORA, "target_modules": ["q_proj", "k_proj", "v_proj"]}
    with pytest.raises(ValueError, match=r"lacks 4 trainable weights.*policy\.lora"):
        fit(tmp_path / "other", tiny_policy, 2, ckpt=last, lora=other)


def test_adapter_state_helpers() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    model[0].requires_grad_(False)
    keys = trainable_keys(model)
    assert keys == {"1.weight", "1.bias"}
    state = adapter_state_dict(model.state_dict(), keys)
    assert list(state) == ["1.weight", "1.bias"]
    with pytest.raises(ValueError, match="lacks trainable"):
        adapter_state_dict({"1.weight": state["1.weight"]}, keys)
    own = set(model.state_dict())
    check_adapter_state(state, keys, own)
    with pytest.raises(ValueError, match=r"holds 1 weights this policy has not.*2\.weight"):
        check_adapter_state([*state, "2.weight"], keys, own)
