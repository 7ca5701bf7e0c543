"""Finished rows leave the decode batch, and the sampled tokens stay bit-identical.

A random Llama with a raised EOS logit ends rows at random steps; forced calls (at absolute
positions) give rows that stop on a call and go on, so rows leave the batch in every turn. The
engine with ``drop_finished`` must sample exactly what it samples with every row riding along
(today's behaviour), for several seeds, with and without top-p, while feeding fewer rows.
"""

from __future__ import annotations

import pytest
import torch

from lightning_paretopo.rollout import TaggedProtocol
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.rollout.sampling import DecodeState, SamplingConfig, next_tokens
from lightning_paretopo.types import TaskExample
from tests.rollout.conftest import ForcedLlama, llama_config

P = TaggedProtocol()
TASKS = [
    TaskExample("a", "arith", "2+3?", "5", tools=("calculator",)),
    TaskExample("e", "arith", "12+3?", "15", tools=("calculator",)),
    TaskExample("f", "arith", "123+4?", "127", tools=("calculator",)),
]


class EosLlama(ForcedLlama):
    """``ForcedLlama`` whose EOS logit is raised by ``eos_bias``: rows end at random steps."""

    eos_bias: float = 3.0

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits[..., self.config.eos_token_id] += self.eos_bias
        return out


@pytest.fixture
def model(tok) -> EosLlama:
    torch.manual_seed(0)
    m = EosLlama(llama_config(tok)).eval()
    call = tok.convert_tokens_to_ids(list("<calc>1+1</calc>"))
    m.force = {12 + i: t for i, t in enumerate(call)}  # a call at positions 12..27, every row
    return m


def _decode_slots(model: torch.nn.Module) -> tuple[list[int], object]:
    """Rows fed per one-token decode step (a forward hook); returns (list, handle)."""
    fed: list[int] = []

    def hook(_module, _args, kwargs):
        if kwargs["input_ids"].shape[1] == 1:
            fed.append(kwargs["input_ids"].shape[0])

    return fed, model.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize("top_p", [1.0, 0.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropping_finished_rows_samples_bit_identical_tokens(tok, tools, model, seed, top_p):
    batches, slots = [], []
    for drop in (False, True):
        engine = RolloutEngine(P, tools, max_turns=3, max_new_tokens=24, top_p=top_p,
                               drop_finished=drop)  # fmt: skip
        fed, handle = _decode_slots(model)
        batches.append(engine.generate(model, tok, TASKS, 4, torch.Generator().manual_seed(seed)))
        handle.remove()
        slots.append(sum(fed))
    full, dropped = batches
    assert torch.equal(full.input_ids, dropped.input_ids)
    assert torch.equal(full.action_mask, dropped.action_mask)
    assert full.texts == dropped.texts and full.turns == dropped.turns
    assert torch.equal(full.truncated, dropped.truncated)
    assert full.tool_calls.sum() > 0  # some rows went on to a second turn
    assert full.texts[0] != full.texts[1]  # sampled, not one forced string
    assert slots[1] < slots[0]  # fewer rows fed to the model


def test_single_turn_feeds_only_running_rows(tok, model):
    engine = RolloutEngine(P, {}, max_turns=1, max_new_tokens=20)
    fed, handle = _decode_slots(model)
    batch = engine.generate(model, tok, TASKS, 4, torch.Generator().manual_seed(0))
    handle.remove()
    sampled = (batch.action_mask.sum(-1)).tolist()  # [N] tokens per row
    # step s feeds the token sampled at step s-1 of every row still running then
    running = [sum(n > s for n in sampled) for s in range(1, max(sampled))]
    assert fed == running


def test_next_tokens_of_some_rows_are_those_of_the_whole_batch():
    torch.manual_seed(0)
    logits = torch.randn(6, 11)  # [R, V]
    rows = torch.tensor([1, 4, 5])
    for cfg in (SamplingConfig(), SamplingConfig(top_p=0.7, temperature=0.8)):
        whole = next_tokens(logits, cfg, torch.Generator().manual_seed(3))  # [6]
        some = next_tokens(logits[rows], cfg, torch.Generator().manual_seed(3), rows, 6)  # [3]
        assert torch.equal(some, whole[rows])


def test_decode_state_select_keeps_row_labels():
    class Cache(list):
        def batch_select_indices(self, index: torch.Tensor) -> None:
            self[:] = [self[i] for i in index.tolist()]

    state = DecodeState(Cache("abc"), torch.ones(3, 2, dtype=torch.long), rows=[0, 2, 5])
    assert DecodeState(Cache("xy"), torch.ones(2, 1)).rows == [0, 1]
    picked = state.select([0, 2])
    assert picked.rows == [0, 5] and list(picked.cache) == ["a", "c"]
    assert picked.attention_mask.shape == (2, 2)
