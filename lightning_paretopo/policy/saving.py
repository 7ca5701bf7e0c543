"""Save a warm-started policy so that an RL config can load it by path.

Contract: ``save_policy(model, tokenizer, out, merge_lora)`` writes ``out`` with
``save_pretrained``. A LoRA (peft) model is merged into its base first when ``merge_lora``
(``merge_and_unload``: W + (alpha / r) B A, exactly what the adapted model computes), so ``out``
is a plain Hugging Face directory (``config.json`` + weights) that ``policy.name_or_path``
loads with a fresh LoRA of its own; without ``merge_lora`` only the adapter is written
(``adapter_config.json``, loadable with peft on top of the base). It returns the model that was
saved (the merged one, which then stands in for the peft model).

``adapter_delta_norm(model)`` is the Frobenius norm of the adapters' weight change
sum over adapted layers of ||(alpha / r) B A||_F^2, square-rooted: 0 for a fresh LoRA (B = 0),
so it says whether, and how far, training moved the adapters. ``state_delta_norm(state_dict,
scaling)`` computes it from a checkpoint's adapter weights (keys ``...lora_A...`` paired with
``...lora_B...``), and ``python -m lightning_paretopo.policy.saving <last.ckpt>`` prints it for
a LoRA run's checkpoint (scaling = ``lora_alpha / r`` from its ``policy.lora``; use_rslora is
not read).

Deliberately not done: sharded or safetensors-free formats, pushing to the hub.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lightning_paretopo.policy.loading import LORA_DEFAULTS


def is_peft(model: Any) -> bool:
    """Whether ``model`` carries peft adapters."""
    return hasattr(model, "merge_and_unload") and hasattr(model, "peft_config")


def save_policy(model: Any, tokenizer: Any, out: str | Path, merge_lora: bool = True) -> Any:
    """Save model and tokenizer to ``out`` (see the module docstring); return the saved model."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if merge_lora and is_peft(model):
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return model


@torch.no_grad()
def adapter_delta_norm(model: torch.nn.Module) -> float:
    """sqrt(sum over LoRA layers of ||scaling * B @ A||_F^2); 0.0 when there are none."""
    total = 0.0
    for module in model.modules():
        lora_a, lora_b = getattr(module, "lora_A", None), getattr(module, "lora_B", None)
        if not isinstance(lora_a, torch.nn.ModuleDict) or not lora_a:
            continue
        for name in lora_a:
            delta = module.scaling[name] * (lora_b[name].weight @ lora_a[name].weight)
            total += float(delta.float().pow(2).sum())
    return math.sqrt(total)


def state_delta_norm(state_dict: Mapping[str, torch.Tensor], scaling: float) -> float:
    """sqrt(sum over each ``lora_A`` / ``lora_B`` pair of ||scaling * B @ A||_F^2)."""
    total = 0.0
    for key, a in state_dict.items():
        if ".lora_A." in key:
            b = state_dict[key.replace(".lora_A.", ".lora_B.")]
            total += float((scaling * (b.double() @ a.double())).pow(2).sum())
    return math.sqrt(total)


def checkpoint_delta_norm(path: str | Path) -> float:
    """``state_delta_norm`` of a LoRA run's checkpoint, with its ``policy.lora`` scaling."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    lora = checkpoint["hyper_parameters"]["policy"]["lora"]
    if not lora:
        raise ValueError(f"{path}: not a LoRA run (policy.lora is empty)")
    lora = {**LORA_DEFAULTS, **lora}
    return state_delta_norm(checkpoint["state_dict"], lora["lora_alpha"] / lora["r"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Frobenius norm of a LoRA run's weight change.")
    parser.add_argument("checkpoint", help="a LoRA run's last.ckpt")
    path = parser.parse_args().checkpoint
    print(f"{path}: LoRA weight change {checkpoint_delta_norm(path):.6f} (Frobenius norm)")
