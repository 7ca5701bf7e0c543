"""Token log-probabilities of a batch under a causal LM (the only policy forward with grad)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def token_logprobs(
    model: torch.nn.Module, input_ids: Tensor, attention_mask: Tensor, first: int = 1
) -> Tensor:
    """log p(x_t | x_<t) for the positions t >= ``first`` of right-padded rows.

    Args:
        model: a Hugging Face causal LM (or a peft wrapper of one); with ``first`` > 1 it must
            take ``logits_to_keep`` (every transformers causal LM does).
        input_ids: [N, T] token ids.
        attention_mask: [N, T] 1 on real tokens.
        first: the first position wanted (>= 1), e.g. the shortest prompt's length: the
            language-model head and the softmax run only from position ``first - 1`` on, so a
            long prompt costs no [.., V] logits (the vocabulary is 150k wide for Qwen2.5).

    Returns:
        [N, T] float32 log-probabilities; positions before ``first`` (and 0, no context) are 0.
    """
    T = input_ids.shape[1]
    first = min(max(first, 1), T)
    kwargs = {"logits_to_keep": T - first + 1} if first > 1 else {}
    out = model(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    logits = out.logits[:, -(T - first + 1) :]  # [N, T-first+1, V]: positions first-1 .. T-1
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # [N, T-first, V]
    picked = logp.gather(-1, input_ids[:, first:].unsqueeze(-1)).squeeze(-1)  # [N, T-first]
    return F.pad(picked, (first, 0))  # [N, T]
