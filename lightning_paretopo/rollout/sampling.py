"""One batched policy turn: feed the new tokens, then a KV-cached sampling loop to a stop.

Contract: ``sample_turn`` takes, for R rows, the tokens not yet in the cache (a whole left-padded
context on the first turn; the last sampled token plus the observation later) and returns, per
row, the token ids the policy sampled (exactly as sampled, never re-tokenized) and why the turn
ended: "stop" (a stop string completed; the token that completed it is kept whole), "eos" (an
EOS id was sampled and is kept) or "budget" (the row's token budget ran out), plus the cache
(``DecodeState``) for the next turn. The model is called as
``model(input_ids, attention_mask, position_ids, <cache kwarg>, use_cache=True)``; the cache
kwarg is ``cache`` (transformers >= 5) or ``past_key_values`` (older models), whichever the
(base) model's ``forward`` names. The attention mask covers every cache slot and is 0 on slots
that are not real context (left padding, padding inside a later turn's block, tokens fed for a
row after it finished); each real token's position id is the number of real tokens before it,
so RoPE positions are those of the unpadded row.

Stop strings are detected on token ids (``stops.StopMatcher``).

On the first turn, rows with the same tokens (a group's G copies of its prompt) are prefilled
once and their cache rows copied, so a group's prompt costs one row of prefill, not G (the
logits and cache are those of the full prefill: bit-identical on the CPU kernels tested).

Finished rows leave the decode batch: a row whose turn ended and which ``ends`` says will not be
fed again (its trajectory is over) is dropped from the cache (``batch_select_indices``) at the
next step, so no compute is spent on it; the returned state holds the other rows
(``DecodeState.rows``). Rows that finished their turn but go on (a tool call) stay in the cache
with attention mask 0 until the turn's last row stops; the loop stops as soon as every row has
finished. Between turns the engine drops the rest with ``DecodeState.select``.

Sampling is bit-identical with and without dropping rows: every step draws from one
``torch.multinomial`` over all R rows of the turn (dropped rows get a uniform dummy
distribution), so each row consumes the random numbers it would have consumed in a full batch.
This relies on multinomial's one-sample path drawing per row independently (it takes the argmax
of p / Exp(1) noise of the whole [R, V] shape) and on the model's logits of a row not depending
on the other rows of the batch (true for the CPU kernels tested; a GPU kernel may round
differently for other batch sizes, so there it is equal in distribution, not bitwise).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from lightning_paretopo.rollout.stops import StopMatcher

Ends = Callable[[list[int], str], bool]


@dataclass
class SamplingConfig:
    """How the next token is chosen. ``do_sample=False`` is greedy."""

    temperature: float = 1.0
    top_p: float = 1.0
    do_sample: bool = True


def _forward_signature(model: torch.nn.Module) -> tuple[str, bool]:
    """(cache kwarg name, whether ``logits_to_keep`` is accepted) of the model's forward."""
    target = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(target.forward).parameters
    cache_kw = (
        "past_key_values" if "past_key_values" in params and "cache" not in params else "cache"
    )
    return cache_kw, "logits_to_keep" in params


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for parameter-free modules)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def next_tokens(
    logits: torch.Tensor,
    cfg: SamplingConfig,
    generator: torch.Generator | None,
    rows: torch.Tensor | None = None,
    total: int | None = None,
) -> torch.Tensor:
    """Sample (or argmax) one token per row. logits: [R, V] -> ids [R].

    ``generator`` must live on the logits' device (None: torch's global RNG). ``rows`` [R] and
    ``total``: the logits are rows ``rows`` of a batch of ``total`` rows; the draw is made for
    all ``total`` rows (the others get a uniform dummy distribution) and the given rows' tokens
    are returned, so they are the tokens the whole batch would have drawn for them.
    """
    if not cfg.do_sample:
        return logits.argmax(dim=-1)
    probs = _probs(logits, cfg)  # [R, V]
    if rows is not None and total is not None and total != len(rows):
        full = probs.new_ones(total, probs.shape[-1])  # [total, V]
        full[rows] = probs
        return torch.multinomial(full, 1, generator=generator).squeeze(-1)[rows]
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _probs(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """Sampling probabilities [R, V] after temperature and top-p."""
    logits = logits.float() / cfg.temperature
    probs = torch.softmax(logits, dim=-1)  # [R, V]
    if cfg.top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        drop = sorted_probs.cumsum(dim=-1) - sorted_probs > cfg.top_p  # always keeps the top-1
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return probs


def left_pad(
    contexts: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad token lists. Returns input_ids [R, L] and attention_mask [R, L]."""
    width = max(len(c) for c in contexts)
    ids = torch.full((len(contexts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(contexts), width), dtype=torch.long)
    for row, ctx in enumerate(contexts):
        ids[row, width - len(ctx) :] = torch.tensor(ctx, dtype=torch.long)
        mask[row, width - len(ctx) :] = 1
    return ids.to(device), mask.to(device)


@dataclass
class DecodeState:
    """The KV cache of R rows between turns.

    Attributes:
        cache: the model's cache object for the R rows.
        attention_mask: LongTensor [R, L], 1 on the cache slots that hold real context (slots
            fed for padding or after a row had finished are 0).
        rows: which rows of the turn that made it the R cache rows are, in order (rows dropped
            during the turn are missing); the state's own rows 0..R-1 when built directly.
    """

    cache: Any
    attention_mask: torch.Tensor
    rows: list[int] | None = None

    def __post_init__(self) -> None:
        if self.rows is None:
            self.rows = list(range(len(self.attention_mask)))

    def select(self, keep: list[int]) -> DecodeState | None:
        """The state of cache rows ``keep`` (positions in this state) only, or None when the
        cache cannot select rows. The cache object is changed in place."""
        if not hasattr(self.cache, "batch_select_indices"):
            return None
        index = torch.tensor(keep, dtype=torch.long, device=self.attention_mask.device)
        self.cache.batch_select_indices(index)
        return DecodeState(self.cache, self.attention_mask[index], [self.rows[i] for i in keep])


class _Model:
    """Calls the model with the right cache kwarg and keeps only the last logits."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.cache_kw, keep_kw = _forward_signature(model)
        self.extra = {"logits_to_keep": 1} if keep_kw else {}

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache: Any):
        """ids, pos: [R, W]; mask: [R, L + W]. Returns (last logits [R, V], cache)."""
        kwargs = ({self.cache_kw: cache} if cache is not None else {}) | self.extra
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **kwargs
        )
        cache = getattr(out, "cache", None)
        cache = cache if cache is not None else getattr(out, "past_key_values", None)
        return out.logits[:, -1, :], cache

    def prefill(self, feeds: list[list[int]], pad_id: int, state: DecodeState | None):
        """Feed each row's new tokens, left-padded to [R, W], after ``state``'s cache (None:
        from scratch). Returns (last logits [R, V], cache, attention_mask [R, L + W]).

        From scratch, rows with the same tokens (a group's G copies of its prompt) are fed once
        and their cache rows copied (``batch_select_indices``), when the cache can do that."""
        if state is None:
            unique = list(dict.fromkeys(map(tuple, feeds)))  # distinct feeds, in order
            if len(unique) < len(feeds):
                logits, cache, mask = self._prefill([list(u) for u in unique], pad_id, None)
                if hasattr(cache, "batch_select_indices"):
                    where = {u: i for i, u in enumerate(unique)}
                    index = torch.tensor([where[tuple(f)] for f in feeds], device=mask.device)
                    cache.batch_select_indices(index)  # [U] -> [R] cache rows
                    return logits[index], cache, mask[index]
        return self._prefill(feeds, pad_id, state)

    def _prefill(self, feeds: list[list[int]], pad_id: int, state: DecodeState | None):
        block, block_mask = left_pad(feeds, pad_id, model_device(self.model))  # [R, W]
        past = block_mask[:, :0] if state is None else state.attention_mask  # [R, L]
        position_ids = past.sum(-1, keepdim=True) + block_mask.cumsum(-1) - 1  # [R, W]
        mask = torch.cat([past, block_mask], dim=1)  # [R, L + W]
        logits, cache = self(block, mask, position_ids.clamp(min=0), state and state.cache)
        return logits, cache, mask

    def step(self, token: torch.Tensor, mask: torch.Tensor, alive: torch.Tensor, cache: Any):
        """Feed one token per cache row after ``mask`` [R', L]; token, alive: [R'] (slots of rows
        not alive get mask 0). Returns (last logits [R', V], cache, mask [R', L + 1])."""
        position_ids = mask.sum(-1, keepdim=True)  # [R', 1] real tokens so far
        mask = torch.cat([mask, alive[:, None].long()], dim=1)  # [R', L + 1]
        logits, cache = self(token[:, None], mask, position_ids, cache)
        return logits, cache, mask


class _Turn:
    """Per-row bookkeeping of one turn: sampled ids, stop-string tails, why each row ended."""

    def __init__(
        self, budgets: list[int], matcher: StopMatcher, eos_ids: set[int], ends: Ends | None
    ) -> None:
        self.budgets, self.matcher, self.eos_ids, self.ends = budgets, matcher, eos_ids, ends
        self.sampled: list[list[int]] = [[] for _ in budgets]
        self.tails = [""] * len(budgets)
        self.reasons: list[str | None] = [None] * len(budgets)

    def record(self, row: int, tok: int) -> bool:
        """Append one sampled token to a running row and set its reason if the turn ends.
        True when the row's trajectory ends for good (``ends``): it leaves the cache."""
        self.sampled[row].append(tok)
        self.tails[row], hit = self.matcher.push(self.tails[row], tok)
        if tok in self.eos_ids:
            self.reasons[row] = "eos"
        elif hit:
            self.reasons[row] = "stop"
        elif len(self.sampled[row]) >= self.budgets[row]:
            self.reasons[row] = "budget"
        reason = self.reasons[row]
        return reason is not None and self.ends is not None and self.ends(self.sampled[row], reason)

    def step(self, live: list[int], tokens: list[int]) -> list[int]:
        """Record the token of each running row of ``live`` (the rows in cache order); return
        the cache positions of the rows that leave the cache."""
        pairs = enumerate(zip(live, tokens, strict=True))
        return [p for p, (r, t) in pairs if self.reasons[r] is None and self.record(r, t)]


@torch.no_grad()
def sample_turn(
    model: torch.nn.Module,
    feeds: list[list[int]],
    budgets: list[int],
    matcher: StopMatcher,
    eos_ids: set[int],
    pad_id: int,
    cfg: SamplingConfig,
    generator: torch.Generator | None = None,
    state: DecodeState | None = None,
    ends: Ends | None = None,
) -> tuple[list[tuple[list[int], str]], DecodeState]:
    """Generate one turn for R rows (every budget >= 1).

    Args:
        feeds: per row, the tokens not yet in ``state``'s cache (the whole context when
            ``state`` is None; else the previous turn's last sampled token and the observation).
        state: the rows' cache from the previous turn, or None to prefill from scratch.
        ends: called once per row when its turn ends, with (sampled ids, reason); True means
            the row will never be fed again, so it leaves the decode batch at once. None keeps
            every row in the cache to the turn's end.

    Returns:
        [(sampled ids, reason)] * R, and the state after the turn, holding the rows not
        dropped (``DecodeState.rows``). The last sampled token of each row is never in the
        returned cache: feed it next turn.
    """
    if len(feeds) != len(budgets) or min(budgets, default=1) < 1 or min(map(len, feeds)) < 1:
        raise ValueError("feeds must be non-empty and budgets must all be >= 1")
    call = _Model(model)
    logits, cache, attention_mask = call.prefill(feeds, pad_id, state)  # [R, V], _, [R, L + W]
    R, device = len(feeds), attention_mask.device
    turn = _Turn(budgets, matcher, eos_ids, ends)
    live = list(range(R))  # the turn's rows in the decode batch, in cache order
    index = torch.arange(R, device=device)  # [R'] live, as a tensor
    for _ in range(max(budgets)):
        token = next_tokens(logits, cfg, generator, index, R)  # [R']
        gone = turn.step(live, token.tolist())  # cache positions of rows that ended for good
        if all(r is not None for r in turn.reasons):
            break
        if gone and hasattr(cache, "batch_select_indices"):
            keep = sorted(set(range(len(live))) - set(gone))
            kept = torch.tensor(keep, device=device)
            cache.batch_select_indices(kept)
            attention_mask, token, index = attention_mask[kept], token[kept], index[kept]
            live = [live[pos] for pos in keep]
        alive = torch.tensor([turn.reasons[row] is None for row in live], device=device)
        logits, cache, attention_mask = call.step(token, attention_mask, alive, cache)
    outs = [(ids, why or "budget") for ids, why in zip(turn.sampled, turn.reasons, strict=True)]
    return outs, DecodeState(cache, attention_mask, live)
