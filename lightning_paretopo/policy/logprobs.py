"""Token log-probabilities of a batch under a causal LM (the only policy forward with grad)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def token_logprobs(model: torch.nn.Module, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """log p(x_t | x_<t) for every position of right-padded rows.

    Args:
        model: a Hugging Face causal LM (or a peft wrapper of one).
        input_ids: [N, T] token ids.
        attention_mask: [N, T] 1 on real tokens.

    Returns:
        [N, T] float32 log-probabilities; position 0 (no context) is 0.
    """
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits  # [N, T, V]
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # [N, T-1, V]
    picked = logp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # [N, T-1]
    return F.pad(picked, (1, 0))  # [N, T]
