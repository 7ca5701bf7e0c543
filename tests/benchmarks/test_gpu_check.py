"""``benchmarks/gpu_check.py --tiny``: the GPU check's whole path (random Qwen2 saved and
reloaded with LoRA and gradient checkpointing, bf16-true, rollout + update) runs on CPU."""

from __future__ import annotations

import pytest

from benchmarks.gpu_check import QWEN25_15B, main

pytestmark = pytest.mark.usefixtures("one_thread")


def test_tiny_gpu_check_runs_a_real_step_on_cpu(capsys) -> None:
    result = main(["--tiny", "--steps", "1"])
    out = capsys.readouterr().out
    assert "sampled tokens/s" in out and "MFU" in out and "step" in out
    assert 0 < result["sampled"] <= 2 * 2 * 8  # 2 prompts x 2 rollouts x at most 8 tokens
    assert result["trained"] > result["sampled"] and result["update"] > 0
    assert result["step"] >= result["generation"] + result["update"]


def test_full_size_is_qwen25_15b() -> None:
    c = QWEN25_15B
    embed = c["vocab_size"] * c["hidden_size"]
    kv = c["num_key_value_heads"] * c["hidden_size"] // c["num_attention_heads"]
    attn = 2 * c["hidden_size"] ** 2 + 2 * c["hidden_size"] * kv + c["hidden_size"] + 2 * kv
    layer = attn + 3 * c["hidden_size"] * c["intermediate_size"] + 2 * c["hidden_size"]
    total = embed + c["num_hidden_layers"] * layer + c["hidden_size"]
    assert total == 1_543_714_304  # Qwen2.5-1.5B's parameter count (tied embeddings)


def test_the_check_leaves_the_module_code_as_it_was() -> None:
    import lightning_paretopo.module as module_code
    from lightning_paretopo.optimization import policy_update

    main(["--tiny", "--steps", "1"])
    assert module_code.policy_update is policy_update
