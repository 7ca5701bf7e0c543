"""Load any Hugging Face causal LM as a policy: by hub id or local path, optionally from a GGUF
file, with LoRA (peft) and 4-bit QLoRA (bitsandbytes).

Contract:
    ``load_policy(name_or_path, dtype, lora, load_in_4bit, trust_remote_code, gguf_file)``
    returns ``(model, tokenizer)``. The tokenizer always has a pad token (EOS is reused when the
    checkpoint has none) and pads on the left, for batched generation. With ``lora`` the model is
    a ``PeftModel`` whose only trainable parameters are the adapters; the reference policy is the
    same model under ``model.disable_adapter()``. ``name_or_path="tiny"`` builds a fresh tiny
    policy (``policy.tiny``) in memory. With ``gguf_file`` (a file inside ``name_or_path``, as
    transformers' ``gguf_file=``; needs the ``gguf`` package) model and tokenizer come from that
    file, the weights dequantised to ``dtype``; such a model cannot be ``save_pretrained``
    (transformers 5.x), so ``policy.convert`` writes a plain directory from it to train from.
    ``require_saved_policy`` refuses a missing local policy with a ValueError naming
    ``policy.name_or_path`` and ``policy.warmstart``: loading never runs a warm start (the CLI
    does, before the module is built: ``warmstart.ensure``).

The bitsandbytes CPU trap (measured with bitsandbytes 0.50.2, torch 2.13 CPU; only on CPUs with
AVX-512 BF16, where bitsandbytes has a packed inference kernel; AVX2-only CPUs are unaffected): a
forward pass in ``eval()`` mode under ``torch.no_grad()`` repacks the 4-bit weights for the inference kernel;
every later training forward then takes a path with no autograd kernel and the LoRA gradients
come back as None (silently no update). Keep a 4-bit model in ``train()`` mode during rollouts
(no-grad forwards in train mode are fine) and keep ``lora_dropout=0`` so train-mode sampling
stays deterministic given the RNG. ``load_policy`` warns about this when it loads 4-bit on CPU.

Deliberately not done: no device placement (Lightning moves the module), no gradient
checkpointing, no merging of adapters.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

log = logging.getLogger(__name__)

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}
LORA_DEFAULTS: dict[str, Any] = {
    "r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "bias": "none",
}


LOCAL_PREFIXES = (".", "/", "~", "logs/", "data/")


def is_local_path(name_or_path: str) -> bool:
    """True for paths the project writes (``logs/...``) or any explicit filesystem path."""
    return name_or_path.startswith(LOCAL_PREFIXES) or Path(name_or_path).exists()


def saved_policy_missing(name_or_path: str, gguf_file: str | None = None) -> bool:
    """True when ``name_or_path`` is a local directory with no saved policy (no
    ``config.json``): what a warm start fills. A hub id is never missing here.

    Raises:
        ValueError: ``gguf_file`` names a local file that is not there (no warm start writes
            one).
    """
    path = Path(name_or_path).expanduser()
    if gguf_file is not None:
        if is_local_path(name_or_path) and not (path / gguf_file).is_file():
            raise ValueError(
                f"policy.gguf_file: {path / gguf_file} not found; for SmolLM2 run `make smollm2` "
                "and point policy.name_or_path at the converted directory instead"
            )
        return False
    return is_local_path(name_or_path) and not (path / "config.json").is_file()


def require_saved_policy(
    name_or_path: str, warmstart: str | None, gguf_file: str | None = None
) -> None:
    """Raise a ValueError naming ``policy.name_or_path`` and ``policy.warmstart`` when the local
    policy is missing (``saved_policy_missing``); the CLI warm-starts one before anything loads
    (``warmstart.ensure``), so a loader that meets a missing one says how to get it."""
    if not saved_policy_missing(name_or_path, gguf_file):
        return
    path = Path(name_or_path).expanduser()
    if warmstart is None:
        raise ValueError(
            f"policy.name_or_path: {path} has no saved policy; set policy.warmstart to a "
            "warm-start config (e.g. configs/warmstart/arith.yaml) or save one there"
        )
    raise ValueError(
        f"policy.name_or_path: {path} has no saved policy. policy.warmstart ({warmstart}) is run "
        "by the CLI (python train.py fit --config <this config>) before the module is built; "
        f"outside the CLI run it first: python -m lightning_paretopo fit --config {warmstart} "
        f"--model.init_args.output_dir={path}"
    )


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Map "float32" / "bfloat16" / "float16" (or a torch dtype) to a torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[dtype]


def lora_config(lora: dict[str, Any]) -> Any:
    """A ``peft.LoraConfig`` for a causal LM from a plain dict (defaults: ``LORA_DEFAULTS``)."""
    from peft import LoraConfig, TaskType

    unknown = (
        set(lora) - set(LORA_DEFAULTS) - {"modules_to_save", "use_rslora", "init_lora_weights"}
    )
    if unknown:
        raise ValueError(
            f"lora has unknown keys {sorted(unknown)}; allowed: "
            f"{sorted(LORA_DEFAULTS) + ['init_lora_weights', 'modules_to_save', 'use_rslora']}"
        )
    kwargs = {**LORA_DEFAULTS, **lora}
    return LoraConfig(task_type=TaskType.CAUSAL_LM, **kwargs)


def _quantization_config(compute_dtype: torch.dtype) -> Any:
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def _gguf_kwargs(gguf_file: str | None) -> dict[str, Any]:
    return {} if gguf_file is None else {"gguf_file": gguf_file}


def load_tokenizer(
    name_or_path: str, trust_remote_code: bool = False, gguf_file: str | None = None
) -> Any:
    """The tokenizer of a checkpoint (or of its GGUF file), with a pad token and left padding.

    ``padding_side`` goes to the constructor: set afterwards, transformers 5.x does not save it.
    """
    if name_or_path == "tiny":
        from lightning_paretopo.policy.tiny import build_tiny_tokenizer

        return build_tiny_tokenizer()
    tokenizer = AutoTokenizer.from_pretrained(
        name_or_path,
        trust_remote_code=trust_remote_code,
        padding_side="left",
        **_gguf_kwargs(gguf_file),
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_policy(
    name_or_path: str,
    dtype: str | torch.dtype = "float32",
    lora: dict[str, Any] | None = None,
    load_in_4bit: bool = False,
    trust_remote_code: bool = False,
    gguf_file: str | None = None,
) -> tuple[PreTrainedModel, Any]:
    """Load a causal LM and its tokenizer as a policy.

    Args:
        name_or_path: hub id, local directory saved with ``save_pretrained``, or "tiny".
        dtype: parameter dtype ("float32", "bfloat16", "float16"); the compute dtype in 4-bit.
        lora: LoRA settings (``r``, ``lora_alpha``, ``lora_dropout``, ``target_modules``, ...);
            None trains the full model.
        load_in_4bit: quantise the base weights to NF4 (QLoRA); requires ``lora``.
        trust_remote_code: forwarded to ``from_pretrained`` (model and tokenizer).
        gguf_file: a GGUF file inside ``name_or_path`` to load (dequantised to ``dtype``).

    Returns:
        (model, tokenizer). The model is in train mode.
    """
    torch_dtype = resolve_dtype(dtype)
    if load_in_4bit and lora is None:
        raise ValueError("load_in_4bit=True needs lora (4-bit base weights cannot be trained)")
    if gguf_file is not None and (name_or_path == "tiny" or load_in_4bit):
        raise ValueError("gguf_file cannot be combined with name_or_path='tiny' or load_in_4bit")
    tokenizer = load_tokenizer(name_or_path, trust_remote_code, gguf_file)
    if name_or_path == "tiny":
        if load_in_4bit:
            raise ValueError("load_in_4bit is not supported for name_or_path='tiny'; save it first")
        from lightning_paretopo.policy.tiny import build_tiny_policy

        model, _ = build_tiny_policy()
        model = model.to(torch_dtype)
    else:
        kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
        kwargs |= _gguf_kwargs(gguf_file)
        if load_in_4bit:
            kwargs["quantization_config"] = _quantization_config(torch_dtype)
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if lora is not None:
        model = _add_lora(model, lora, load_in_4bit)
    model.train()
    return model, tokenizer


def _add_lora(model: PreTrainedModel, lora: dict[str, Any], load_in_4bit: bool) -> Any:
    from peft import get_peft_model

    config = lora_config(lora)
    if load_in_4bit:
        if config.lora_dropout:
            raise ValueError("lora.lora_dropout must be 0 with load_in_4bit (see module docstring)")
        if not torch.cuda.is_available():
            log.warning(
                "4-bit on CPU: keep the model in train() mode for rollouts; an eval() no-grad "
                "forward repacks the weights and later LoRA gradients come back as None"
            )
    peft_model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    log.info("LoRA adapters: %d trainable parameters", trainable)
    return peft_model
