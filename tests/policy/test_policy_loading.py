"""``load_policy``: load by path, LoRA trains adapters only, gradients reach LoRA (also 4-bit)."""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.policy.loading import load_policy, resolve_dtype
from lightning_paretopo.policy.tiny import save_tiny_policy

SMALL = {"hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128}


@pytest.fixture
def tiny_path(tmp_path):
    return save_tiny_policy(tmp_path / "tiny", seed=0, **SMALL)


def _lm_loss(model, tokenizer) -> torch.Tensor:
    ids = torch.tensor([tokenizer("12+30 = 42").input_ids])  # [1, T]
    return model(input_ids=ids, labels=ids).loss


def test_load_by_path_full_finetune(tiny_path) -> None:
    model, tok = load_policy(str(tiny_path))
    assert model.training and tok.padding_side == "left" and tok.pad_token_id == 0
    assert all(p.requires_grad for p in model.parameters())
    assert model.dtype == torch.float32
    model_bf16, _ = load_policy(str(tiny_path), dtype="bfloat16")
    assert model_bf16.dtype == torch.bfloat16


def test_lora_trains_only_adapters_and_gets_gradients(tiny_path) -> None:
    lora = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    model, tok = load_policy(str(tiny_path), lora=lora)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # 2 layers x 2 modules x (A: 4x64 + B: 64x4)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 2 * 2 * (
        4 * 64 + 64 * 4
    )
    assert not any("k_proj.lora" in n for n in trainable)
    _lm_loss(model, tok).backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    # B starts at zero, so A's gradient is zero at init; B's is not.
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert any(g.abs().sum() > 0 for n, g in grads.items() if "lora_B" in n)
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


def test_lora_adapter_can_be_disabled_for_the_reference(tiny_path) -> None:
    lora = {"r": 4, "target_modules": ["q_proj", "v_proj"], "init_lora_weights": "gaussian"}
    model, tok = load_policy(str(tiny_path), lora=lora)
    with torch.no_grad():
        b_weights = [p for n, p in model.named_parameters() if "lora_B" in n]
        for p in b_weights:
            p.fill_(0.5)
        ids = torch.tensor([tok("7*6").input_ids])  # [1, T]
        with_adapter = model(ids).logits
        with model.disable_adapter():
            reference = model(ids).logits
    assert not torch.allclose(with_adapter, reference)


def test_bad_arguments_name_the_field(tiny_path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("float8")
    with pytest.raises(ValueError, match="load_in_4bit"):
        load_policy(str(tiny_path), load_in_4bit=True)
    with pytest.raises(ValueError, match="unknown keys"):
        load_policy(str(tiny_path), lora={"rank": 4})


def _bnb_4bit_available() -> str | None:
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the install
        return f"bitsandbytes not importable: {exc}"
    return None


@pytest.mark.skipif(_bnb_4bit_available() is not None, reason=str(_bnb_4bit_available()))
def test_qlora_4bit_gradients_are_finite(tiny_path) -> None:
    lora = {
        "r": 4,
        "lora_alpha": 8,
        "target_modules": ["q_proj", "v_proj"],
        "init_lora_weights": "gaussian",
    }
    try:
        model, tok = load_policy(str(tiny_path), lora=lora, load_in_4bit=True)
    except Exception as exc:  # pragma: no cover - depends on the bitsandbytes CPU backend
        pytest.skip(f"bitsandbytes 4-bit does not load on this machine: {exc}")
    base = model.base_model.model.model.layers[0].self_attn.q_proj.base_layer
    assert type(base).__name__ == "Linear4bit"
    # A rollout-style no-grad forward in train mode must not break the gradients (see the trap).
    with torch.no_grad():
        _lm_loss(model, tok)
    _lm_loss(model, tok).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_lora_dropout_must_be_zero_in_4bit(tiny_path) -> None:
    if _bnb_4bit_available() is not None:
        pytest.skip(_bnb_4bit_available())
    with pytest.raises(ValueError, match="lora_dropout"):
        load_policy(str(tiny_path), lora={"lora_dropout": 0.1}, load_in_4bit=True)


def _cpu_repacks_4bit_weights() -> bool:
    """Whether bitsandbytes takes its CPU inference repack path here: the one that needs
    AVX-512 BF16 (``Linear4bit.forward`` checks ``has_avx512bf16()``)."""
    from bitsandbytes.functional import has_avx512bf16

    return bool(has_avx512bf16())


def _eval_forward_then_backward(tiny_path) -> list[torch.Tensor | None]:
    """An eval-mode no-grad forward, then a train-mode backward: the LoRA gradients."""
    lora = {"r": 4, "target_modules": ["q_proj", "v_proj"], "init_lora_weights": "gaussian"}
    try:
        model, tok = load_policy(str(tiny_path), lora=lora, load_in_4bit=True)
    except Exception as exc:  # pragma: no cover - depends on the bitsandbytes CPU backend
        pytest.skip(f"bitsandbytes 4-bit does not load on this machine: {exc}")
    model.eval()
    with torch.no_grad():
        _lm_loss(model, tok)
    model.train()
    _lm_loss(model, tok).backward()
    return [p.grad for p in model.parameters() if p.requires_grad]


@pytest.mark.skipif(_bnb_4bit_available() is not None, reason=str(_bnb_4bit_available()))
def test_the_documented_cpu_trap_eval_mode_forward_breaks_lora_gradients(tiny_path) -> None:
    """Pins the bitsandbytes CPU behaviour the loading docstring warns about (0.50.2): if this
    starts failing on an AVX-512 BF16 CPU, bitsandbytes fixed it and the warning can go."""
    if not _cpu_repacks_4bit_weights():
        pytest.skip("the trap needs a CPU with AVX-512 BF16 (bitsandbytes' repack path); none here")
    assert all(g is None for g in _eval_forward_then_backward(tiny_path))


@pytest.mark.skipif(_bnb_4bit_available() is not None, reason=str(_bnb_4bit_available()))
def test_without_avx512_bf16_an_eval_forward_keeps_lora_gradients(tiny_path) -> None:
    """The other side of the trap: where bitsandbytes has no repack path, gradients survive."""
    if _cpu_repacks_4bit_weights():
        pytest.skip("this CPU has AVX-512 BF16: the trap applies (pinned by the test above)")
    grads = _eval_forward_then_backward(tiny_path)
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
