"""A group's G copies of its prompt are prefilled once: the model sees U distinct rows, and the
logits, cache and mask it returns for the R rows are those of feeding all R."""

from __future__ import annotations

import torch

from lightning_paretopo.rollout.sampling import DecodeState, _Model


def _batch_sizes(model) -> list[int]:
    sizes: list[int] = []
    model.register_forward_pre_hook(
        lambda m, args, kwargs: sizes.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    return sizes


def test_repeated_prompts_are_fed_once(tiny_llama, tok) -> None:
    prompts = [tok("What is 2+3?")["input_ids"], tok("12*4=")["input_ids"]]
    feeds = [p for p in prompts for _ in range(3)]  # G = 3: [a, a, a, b, b, b]
    sizes = _batch_sizes(tiny_llama)
    with torch.no_grad():
        logits, cache, mask = _Model(tiny_llama).prefill(feeds, tok.pad_token_id, None)
        full = _Model(tiny_llama)._prefill(feeds, tok.pad_token_id, None)  # every row fed
    assert sizes == [2, 6]  # the shared prefill fed 2 rows; the reference 6
    assert torch.allclose(logits, full[0], atol=1e-6) and torch.equal(mask, full[2])
    for ours, ref in zip(cache.layers, full[1].layers, strict=True):
        assert torch.allclose(ours.keys, ref.keys, atol=1e-6)
        assert torch.allclose(ours.values, ref.values, atol=1e-6)


def test_distinct_rows_and_later_turns_are_fed_as_they_are(tiny_llama, tok) -> None:
    feeds = [tok("2+3")["input_ids"], tok("4+5")["input_ids"]]
    sizes = _batch_sizes(tiny_llama)
    with torch.no_grad():
        _, cache, mask = _Model(tiny_llama).prefill(feeds + feeds, tok.pad_token_id, None)
        assert sizes == [2] and mask.shape[0] == 4
        state = DecodeState(cache, mask)
        _Model(tiny_llama).prefill([[5], [5], [5], [5]], tok.pad_token_id, state)
    assert sizes == [2, 4]  # after a cache, identical new tokens are still fed per row
