"""The tiny policy: character tokenizer round trip, size, and save/load by path."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

from lightning_paretopo.policy.tiny import (
    CHARSET,
    build_tiny_policy,
    build_tiny_tokenizer,
    save_tiny_policy,
    tiny_llama_config,
)

TEXT = "Q: 23*17+45 = ?\n<call>calculator: (391 - 7) / 2</call>\n~`|{}[]\"'\\"


def test_charset_is_printable_ascii_and_newline() -> None:
    assert len(CHARSET) == 96 and len(set(CHARSET)) == 96
    assert "\n" in CHARSET and " " in CHARSET and "~" in CHARSET and "\t" not in CHARSET


def test_tokenizer_is_one_token_per_character_with_bos() -> None:
    tok = build_tiny_tokenizer()
    assert len(tok) == 100
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    ids = tok(TEXT).input_ids
    assert ids[0] == tok.bos_token_id and len(ids) == len(TEXT) + 1
    assert tok(TEXT, add_special_tokens=False).input_ids == ids[1:]
    assert tok.decode(ids, skip_special_tokens=True) == TEXT
    # Concatenation is additive (the warm-start masks rely on it).
    a, b = TEXT[:11], TEXT[11:]
    assert (
        tok(a, add_special_tokens=False).input_ids + tok(b, add_special_tokens=False).input_ids
        == ids[1:]
    )
    # Outside the charset: <unk>.
    assert tok("a\tb", add_special_tokens=False).input_ids == [69, 3, 70]


def test_tokenizer_round_trips_through_auto_tokenizer(tmp_path) -> None:
    tok = build_tiny_tokenizer()
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, PreTrainedTokenizerFast)
    assert loaded.padding_side == "left"
    assert loaded(TEXT).input_ids == tok(TEXT).input_ids
    assert loaded.decode(loaded(TEXT).input_ids, skip_special_tokens=True) == TEXT
    batch = loaded(["ab", "abcd"], padding=True)
    assert batch.input_ids[0] == [0, 0, 1, 69, 70]
    assert batch.attention_mask[0] == [0, 0, 1, 1, 1]


def test_padding_side_is_validated() -> None:
    with pytest.raises(ValueError, match="padding_side"):
        build_tiny_tokenizer(padding_side="middle")
    with pytest.raises(ValueError, match="num_attention_heads"):
        tiny_llama_config(hidden_size=250, num_attention_heads=4)


def test_default_model_is_a_tied_llama_of_one_to_five_million_parameters() -> None:
    model, tok = build_tiny_policy()
    n_params = sum(p.numel() for p in model.parameters())
    assert 1_000_000 <= n_params <= 5_000_000
    # 100*256 embedding (tied) + 4 layers * (4*256^2 + 3*256*512 + 2*256) + 256 final norm.
    assert n_params == 100 * 256 + 4 * (4 * 256 * 256 + 3 * 256 * 512 + 2 * 256) + 256
    assert model.config.model_type == "llama" and model.config.tie_word_embeddings
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    assert model.config.vocab_size == len(tok)


def test_save_load_by_path_gives_identical_logits(tmp_path) -> None:
    model, tok = build_tiny_policy(
        seed=3, hidden_size=64, num_hidden_layers=2, intermediate_size=128
    )
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = torch.tensor([tok(TEXT).input_ids])  # [1, T]
    model.eval()
    loaded.eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)
    assert loaded.config.eos_token_id == tok.eos_token_id


def test_seed_fixes_the_initialisation(tmp_path) -> None:
    small = {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "intermediate_size": 64,
        "num_attention_heads": 2,
    }
    a, _ = build_tiny_policy(seed=1, **small)
    b, _ = build_tiny_policy(seed=1, **small)
    c, _ = build_tiny_policy(seed=2, **small)
    wa, wb, wc = (m.get_input_embeddings().weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    path = save_tiny_policy(tmp_path / "p", seed=1, **small)
    assert torch.equal(AutoModelForCausalLM.from_pretrained(path).get_input_embeddings().weight, wa)
