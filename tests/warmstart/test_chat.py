"""The chat warm start's data module, its recorded chat settings, and merged LoRA saving."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from transformers import AutoModelForCausalLM

from lightning_paretopo.args import ChatArgs
from lightning_paretopo.building import chat_protocol, warn_chat_drift
from lightning_paretopo.policy.loading import load_policy
from lightning_paretopo.policy.saving import adapter_delta_norm, save_policy, state_delta_norm
from lightning_paretopo.rollout.chat_prompt import HERMES_HEAD
from lightning_paretopo.warmstart.chat import (
    ChatWarmStartDataModule,
    chat_drift,
    write_chat_settings,
)
from lightning_paretopo.warmstart.module import WarmStartModule

pytestmark = pytest.mark.usefixtures("one_thread")


def _module(tok, **kwargs) -> ChatWarmStartDataModule:
    dm = ChatWarmStartDataModule(**{"n_train": 12, "n_val": 2, "n_eval": 5, **kwargs})
    dm.attach_tokenizer(tok)
    dm.setup("fit")
    return dm


def test_traces_are_rendered_by_the_rl_chat_protocol(chat_tok) -> None:
    chat = ChatArgs(system_prompt="Be exact.")
    dm = _module(chat_tok, chat=chat)
    rl = chat_protocol(chat, chat_tok)  # what ParetoPOModule's engine is built with
    problems = [t for t in dm.data.train if t.tier]
    assert len(problems) == 12 and dm.prompt_special_tokens is False
    assert all(t.segments[0][0].startswith("<|im_start|>system\nBe exact. Put the") for t in
               problems)  # fmt: skip
    assert all(HERMES_HEAD in t.segments[0][0] for t in problems)
    eval_task = dm.eval_tasks()[0]
    assert dm.protocol.render_prompt(eval_task) == rl.render_prompt(eval_task)
    assert (
        dm.tool_specs() == {"calculator": {}} and dm.chat_settings()["system_prompt"] == "Be exact."
    )


def test_eval_problems_come_from_the_chosen_split(chat_tok) -> None:
    val = _module(chat_tok, eval_split="val").eval_tasks()
    test = _module(chat_tok, eval_split="test").eval_tasks()
    assert {t.meta["split"] for t in val} == {"val"} and {t.meta["split"] for t in test} == {"test"}
    assert not {t.prompt for t in val} & {t.prompt for t in test}


def test_bad_arguments_name_the_field(tmp_path) -> None:
    with pytest.raises(ValueError, match="eval_split"):
        ChatWarmStartDataModule(eval_split="train")
    with pytest.raises(ValueError, match="need gsm8k_dir"):
        ChatWarmStartDataModule(n_gsm8k_train=4)
    with pytest.raises(ValueError, match="gsm8k_dir: no train.jsonl"):
        ChatWarmStartDataModule(gsm8k_dir=str(tmp_path))
    with pytest.raises(ValueError, match="n_train"):
        ChatWarmStartDataModule(n_train=0)
    with pytest.raises(ValueError, match="make smollm2"):
        WarmStartModule(policy=str(tmp_path / "nope"))


def test_gsm8k_traces_and_eval_problems(chat_tok, shared_data) -> None:
    dm = _module(chat_tok, gsm8k_dir=str(shared_data / "gsm8k"), n_gsm8k_train=4,
                 n_gsm8k_eval=3, eval_split="val")  # fmt: skip
    gsm8k = [t for t in dm.data.train if t.tier == "gsm8k"]
    assert len(gsm8k) == 4 and all(1 <= t.n_calls <= 3 for t in gsm8k)
    held = [t for t in dm.eval_tasks() if t.meta["tier"] == "gsm8k"]
    assert len(held) == 3 and all(t.tools == ("calculator",) for t in held)
    assert not any(t.prompt in trace.segments[0][0] for t in held for trace in gsm8k)


def test_chat_drift_names_each_changed_field(tmp_path, caplog) -> None:
    saved = json.loads(json.dumps(ChatArgs().__dict__))
    assert chat_drift(saved, ChatArgs()) == []
    drift = chat_drift(saved, ChatArgs(system_prompt="Other.", tools_in="system"))
    assert [line.split(":")[0] for line in drift] == ["rollout.chat.system_prompt",
                                                     "rollout.chat.tools_in"]  # fmt: skip
    assert warn_chat_drift(tmp_path, ChatArgs(system_prompt="Other.")) == []  # nothing recorded
    write_chat_settings(tmp_path, saved)
    with caplog.at_level(logging.WARNING, logger="lightning_paretopo.building"):
        assert len(warn_chat_drift(tmp_path, ChatArgs(system_prompt="Other."))) == 1
    assert "warm-started with other chat settings" in caplog.text


def test_merged_lora_saves_a_plain_policy_with_the_adapted_outputs(tiny_policy, tmp_path) -> None:
    model, tok = load_policy(str(tiny_policy), lora={"r": 4, "lora_alpha": 8})
    assert adapter_delta_norm(model) == 0.0  # a fresh LoRA: B = 0
    torch.manual_seed(1)
    deltas = []  # each adapted layer's (alpha / r) B A
    for module in model.modules():
        if hasattr(module, "lora_B") and "default" in getattr(module, "lora_B", {}):
            a, b = module.lora_A["default"].weight.data, module.lora_B["default"].weight.data
            b.normal_()
            deltas.append(module.scaling["default"] * b @ a)
    expected = float(torch.sqrt(sum((d**2).sum() for d in deltas)))
    assert adapter_delta_norm(model) == pytest.approx(expected, rel=1e-5)
    assert state_delta_norm(model.state_dict(), 8 / 4) == pytest.approx(expected, rel=1e-5)
    ids = torch.tensor([tok("Q: What is 2+3?\n").input_ids])  # [1, T]
    model.eval()
    with torch.no_grad():
        adapted = model(ids).logits
    saved = save_policy(model, tok, tmp_path / "merged", merge_lora=True)
    assert not hasattr(saved, "peft_config") and (tmp_path / "merged" / "config.json").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, adapted, rtol=1e-4, atol=1e-4)


def test_unmerged_lora_saves_the_adapter_only(tiny_policy, tmp_path) -> None:
    model, tok = load_policy(str(tiny_policy), lora={"r": 4, "lora_alpha": 8})
    save_policy(model, tok, tmp_path / "adapter", merge_lora=False)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert not (tmp_path / "adapter" / "config.json").is_file()
