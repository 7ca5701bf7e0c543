"""Adapter-only checkpoints: a LoRA run saves its trainable weights only; the base comes back
from its source.

Contract:
    - ``trainable_keys(module)``: the state-dict keys of ``module``'s parameters that require
      grad (every name of a tied parameter). With LoRA these are the adapters (plus any
      ``modules_to_save`` copies); the frozen base weights are not among them.
    - ``adapter_state_dict(state, keys)``: ``state`` restricted to ``keys``; a key of ``keys``
      missing from ``state`` is a ValueError (the filter never drops a trainable weight).
    - ``check_adapter_state(saved, trainable, own)``: the checkpoint's keys ``saved`` can be
      loaded into a module whose state-dict keys are ``own`` with only the frozen ones missing:
      every trainable key present, no key the module lacks. Otherwise a ValueError naming the
      keys, e.g. a checkpoint written with other ``policy.lora`` settings.

``ParetoPOModule`` (with ``policy.lora``) filters ``checkpoint["state_dict"]`` in
``on_save_checkpoint`` and accepts such a state in ``load_state_dict``: the base weights are
reloaded from ``policy.name_or_path`` by ``configure_model`` (Lightning calls it before it
restores a checkpoint, in ``fit``/``validate``/``test`` and in ``load_from_checkpoint``), then
the adapters, optimizer, ParetoPO state and RNG come from the checkpoint. A full state (a
checkpoint written before this, or by full fine-tuning) still loads strictly. Full fine-tuning
saves everything, as before.

Deliberately not done: no fingerprint of the base weights. Resuming an adapter-only
checkpoint over a different base at the same path is not detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor


def trainable_keys(module: torch.nn.Module) -> set[str]:
    """State-dict keys of the parameters of ``module`` with ``requires_grad``."""
    params = module.named_parameters(remove_duplicate=False)
    return {name for name, p in params if p.requires_grad}


def adapter_state_dict(state: Mapping[str, Tensor], keys: set[str]) -> dict[str, Tensor]:
    """``state`` with only ``keys`` (in ``state``'s order); all of ``keys`` must be there."""
    missing = sorted(keys - set(state))
    if missing:
        raise ValueError(f"the state dict lacks trainable weights {missing[:5]} ({len(missing)})")
    return {k: v for k, v in state.items() if k in keys}


def check_adapter_state(saved: Iterable[str], trainable: set[str], own: set[str]) -> None:
    """Raise ValueError unless ``saved`` = every key of ``trainable`` plus only keys of ``own``."""
    saved = set(saved)
    unknown = sorted(saved - own)
    lacking = sorted(trainable - saved)
    if not unknown and not lacking:
        return
    parts = []
    if lacking:
        parts.append(f"lacks {len(lacking)} trainable weights of this policy, e.g. {lacking[:3]}")
    if unknown:
        parts.append(f"holds {len(unknown)} weights this policy has not, e.g. {unknown[:3]}")
    raise ValueError(
        "checkpoint state_dict (adapter-only LoRA) does not fit this policy: it "
        + "; ".join(parts)
        + ". Was it written with other policy.lora settings (r, target_modules, "
        "modules_to_save) or another policy.name_or_path? Use the settings it was written with."
    )
