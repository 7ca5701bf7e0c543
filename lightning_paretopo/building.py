"""What ``ParetoPOModule`` builds lazily, once a Trainer runs it: the policy (with a frozen
reference copy when the KL penalty needs one), the tools and the rollout engine.

Contract:
    - ``build_policy(policy_args, loss_args)`` loads the policy (``policy.loading``); it runs no
      warm start: the CLI runs that before the module is built (``warmstart.ensure``), and a
      local policy still missing here is a ValueError naming ``policy.name_or_path`` and
      ``policy.warmstart`` (``policy.loading.require_saved_policy``). With
      ``loss.kl_beta > 0`` and no LoRA it returns a frozen deep copy as the reference policy;
      with LoRA the reference is the same model with its adapter disabled (None here).
    - ``build_engine(rollout_args, tokenizer, tools)``: the ``RolloutEngine`` with the
      configured markup (``tagged``, or ``chat``: the tokenizer's template with the system
      message and tool schemas of ``rollout.chat``, ``chat_protocol``). Given the policy's
      directory, it warns (WARNING, each field named) when a chat warm start wrote that policy
      with other ``rollout.chat`` settings (``warmstart.chat.chat_drift``): the RL
      prompts would then differ from the ones the policy learned to call in.
    - ``select_tools(tool_specs, datamodule)``: the module's ``tool_specs`` when given, else the
      DataModule's ``tool_specs()``, else none (``tools.registry.ToolSpecs``).

Deliberately not done: device placement (Lightning moves the module) and any hub access at
construction time (nothing here runs before ``configure_model``).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import torch

from lightning_paretopo.args import ChatArgs, LossArgs, PolicyArgs, RolloutArgs
from lightning_paretopo.policy.loading import load_policy, require_saved_policy
from lightning_paretopo.rollout import ChatTemplateProtocol, RolloutEngine, TaggedProtocol
from lightning_paretopo.tools import ServesTools, ToolSpecs, build_tools
from lightning_paretopo.tools.base import Tool
from lightning_paretopo.warmstart.chat import chat_drift, chat_settings_file

log = logging.getLogger(__name__)


def build_policy(
    policy_args: PolicyArgs, loss_args: LossArgs
) -> tuple[torch.nn.Module, Any, torch.nn.Module | None]:
    """(policy, tokenizer, frozen reference policy or None)."""
    args = policy_args
    require_saved_policy(args.name_or_path, args.warmstart, args.gguf_file)
    policy, tokenizer = load_policy(
        args.name_or_path,
        args.dtype,
        args.lora,
        args.load_in_4bit,
        trust_remote_code=args.trust_remote_code,
        gguf_file=args.gguf_file,
    )
    if args.gradient_checkpointing:
        policy.gradient_checkpointing_enable()
    reference = None
    if loss_args.kl_beta > 0 and args.lora is None:
        reference = copy.deepcopy(policy).requires_grad_(False)
    return policy, tokenizer, reference


def select_tools(tool_specs: ToolSpecs | None, datamodule: Any) -> dict[str, Tool]:
    """The tools of the rollouts, by markup name: built from ``tool_specs`` when given, else
    from the DataModule's ``tool_specs()`` (``tools.ServesTools``), else none."""
    if tool_specs is not None:
        return build_tools(tool_specs)
    if isinstance(datamodule, ServesTools):
        return build_tools(datamodule.tool_specs())
    return {}


def chat_protocol(chat: ChatArgs, tokenizer: Any) -> ChatTemplateProtocol:
    """The chat protocol of ``rollout.chat`` (decides, and logs, where the schemas go)."""
    return ChatTemplateProtocol(
        tokenizer, chat.tool_schemas, chat.system_prompt, chat.answer_instruction, chat.tools_in
    )


def warn_chat_drift(policy_dir: str | Path, chat: ChatArgs) -> list[str]:
    """Log (WARNING) and return the ``rollout.chat`` fields that differ from the settings the
    chat warm start recorded beside the policy; nothing when it recorded none."""
    path = chat_settings_file(policy_dir)
    if not path.is_file():
        return []
    drift = chat_drift(json.loads(path.read_text()), chat)
    for line in drift:
        log.warning("the policy was warm-started with other chat settings (%s): %s", path, line)
    return drift


def build_engine(
    rollout_args: RolloutArgs,
    tokenizer: Any,
    tools: dict[str, Tool],
    policy_dir: str | Path | None = None,
) -> RolloutEngine:
    """The rollout engine of the configured markup, budgets and sampling settings."""
    r = rollout_args
    protocol = TaggedProtocol() if r.protocol == "tagged" else chat_protocol(r.chat, tokenizer)
    if r.protocol == "chat" and policy_dir is not None:
        warn_chat_drift(policy_dir, r.chat)
    return RolloutEngine(
        protocol, tools, r.max_turns, r.max_new_tokens, r.max_total_tokens, r.temperature, r.top_p
    )
