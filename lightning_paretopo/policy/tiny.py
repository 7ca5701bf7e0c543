"""The tiny policy this project trains itself: a character tokenizer and a small Llama.

Contract:
    - ``build_tiny_tokenizer()`` returns a ``PreTrainedTokenizerFast`` over a fixed charset
      (printable ASCII and newline) with the special tokens ``<pad>`` (0), ``<bos>`` (1),
      ``<eos>`` (2), ``<unk>`` (3). Like Llama it prepends ``<bos>`` when
      ``add_special_tokens=True``; it never appends ``<eos>``. Every character is one token, so
      the tokens of a concatenation are the concatenation of the tokens (the warm-start masks
      rely on this). ``padding_side`` is "left" (batched generation) and persists through
      ``save_pretrained`` / ``AutoTokenizer.from_pretrained``.
    - ``tiny_llama_config(...)`` / ``build_tiny_policy(...)`` give a randomly initialised
      ``LlamaForCausalLM`` of about 1-5 M parameters with tied embeddings: 2.65 M with the
      defaults (4 layers); the warm-start configs use 2 wider layers (hidden 256, MLP 768,
      1.73 M), which learned to copy tool outputs in far fewer steps than 4 layers did.
    - ``save_tiny_policy(path)`` writes both in Hugging Face format, so the policy loads by path
      exactly as a hub model would (``AutoModelForCausalLM.from_pretrained(path)``).

Deliberately not done: no byte fallback (characters outside the charset become ``<unk>``),
no chat template (prompts are rendered by ``rollout.markup``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, processors
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedModel, PreTrainedTokenizerFast

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
# Printable ASCII (space .. ~, 95 characters) plus newline.
CHARSET: str = "".join(chr(i) for i in range(32, 127)) + "\n"


def build_tiny_tokenizer(padding_side: str = "left") -> PreTrainedTokenizerFast:
    """Build the character-level tokenizer (vocab = 4 specials + 96 characters).

    Args:
        padding_side: "left" (default, for batched generation) or "right".
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in CHARSET:
        vocab[ch] = len(vocab)
    # BPE without merges over the whole string (no pre-tokenizer) is a pure character model.
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK, fuse_unk=False))
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A",
        pair=f"{BOS} $A $B",
        special_tokens=[(BOS, vocab[BOS])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side=padding_side,
        model_max_length=1024,
        clean_up_tokenization_spaces=False,
    )


def tiny_llama_config(
    vocab_size: int = len(SPECIAL_TOKENS) + len(CHARSET),
    hidden_size: int = 256,
    num_hidden_layers: int = 4,
    num_attention_heads: int = 4,
    intermediate_size: int = 512,
    max_position_embeddings: int = 1024,
) -> LlamaConfig:
    """A Llama config for the tiny policy (defaults: ~2.6 M parameters, tied embeddings)."""
    if hidden_size % num_attention_heads:
        raise ValueError(
            f"hidden_size ({hidden_size}) must be divisible by num_attention_heads "
            f"({num_attention_heads})"
        )
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_attention_heads,
        max_position_embeddings=max_position_embeddings,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        pad_token_id=SPECIAL_TOKENS.index(PAD),
        bos_token_id=SPECIAL_TOKENS.index(BOS),
        eos_token_id=SPECIAL_TOKENS.index(EOS),
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )


def build_tiny_policy(
    seed: int = 0, **config_kwargs: int
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A freshly initialised tiny Llama and its tokenizer.

    Args:
        seed: seeds the weight initialisation (the global torch RNG is left untouched).
        **config_kwargs: forwarded to ``tiny_llama_config``.
    """
    tokenizer = build_tiny_tokenizer()
    config = tiny_llama_config(vocab_size=len(tokenizer), **config_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def save_tiny_policy(path: str | Path, seed: int = 0, **config_kwargs: int) -> Path:
    """Build a fresh tiny policy and save model + tokenizer under ``path``; return the path."""
    path = Path(path)
    model, tokenizer = build_tiny_policy(seed=seed, **config_kwargs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
