"""Micro-batches of a rollout batch for the training forward/backward, grouped by length.

Contract of ``micro_batches(lengths, size, max_padding, starts)``:

- Every row is in exactly one micro-batch. A micro-batch is a set of rows (``MicroBatch.rows``)
  and the number of columns it keeps (``width``, its longest row's length): rows are
  right-padded, so the columns past a micro-batch's longest row are padding for all its rows
  and are never fed to the model.
- ``max_padding`` None: rows in batch order, ``size`` at a time, each micro-batch as wide as
  the whole batch (the behaviour before length grouping).
- ``max_padding`` p in [0, 1): rows sorted by length, longest first (ties in batch order); a
  micro-batch takes at most ``size`` rows and closes before a row shorter than (1 - p) times
  its first row, so padding is at most a share p of its token slots. Each micro-batch is
  therefore no larger (rows x width) than the batch-order micro-batch of ``size`` rows.
- ``starts`` (optional, [N]): each row's first column whose log-prob the loss needs (its first
  sampled token); a micro-batch's ``first`` is the smallest of its rows' (at least 1; 1 without
  ``starts``), so the model's logits are wanted only from column ``first - 1`` on.
- ``shares(mask, micro, aggregation)``: each micro-batch's share of the aggregated loss
  (masked tokens for token-mean; rows with at least one sampled token for seq-mean), so that
  sum_m share_m * loss_m equals the whole-batch loss, and the accumulated gradient the
  whole-batch gradient, up to float rounding, for any grouping.

Deliberately not done: packing several rows into one sequence (needs variable-length
attention kernels); choosing the grouping from measured speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class MicroBatch:
    """Rows of one forward/backward pass.

    Attributes:
        rows: LongTensor [n], row indices into the batch.
        width: columns fed to the model (the longest of its rows).
        first: the first column whose log-prob is needed (the earliest start of its rows).
    """

    rows: Tensor
    width: int
    first: int = 1

    def take(self, x: Tensor) -> Tensor:
        """The micro-batch's part of a per-token tensor: [N, T] -> [n, width]."""
        return x[self.rows.to(x.device), : self.width]


def micro_batches(
    lengths: Tensor, size: int | None, max_padding: float | None, starts: Tensor | None = None
) -> list[MicroBatch]:
    """Group N rows into micro-batches (module docstring).

    Args:
        lengths: [N] real tokens per row (prompt, actions, observations).
        size: at most this many rows per micro-batch; None = no cap.
        max_padding: the share of a micro-batch's token slots padding may take, rows sorted by
            length; None keeps batch order and the full width.
        starts: [N] each row's first column the loss needs; None = 1 for every row.
    """
    lengths = lengths.detach().cpu().long()  # [N]
    N = len(lengths)
    size = size or N
    starts = torch.ones(N, dtype=torch.long) if starts is None else starts.detach().cpu().long()

    def micro(rows: Tensor, width: int) -> MicroBatch:
        return MicroBatch(rows, width, max(int(starts[rows].min()), 1) if len(rows) else 1)

    if max_padding is None:
        width = int(lengths.max()) if N else 0
        return [micro(torch.arange(i, min(i + size, N)), width) for i in range(0, N, size)]
    if not 0 <= max_padding < 1:
        raise ValueError(f"loss.max_padding must be in [0, 1) or None, got {max_padding}")
    order = torch.sort(lengths, descending=True, stable=True).indices.tolist()
    groups: list[list[int]] = []
    for row in order:
        group = groups[-1] if groups else None
        if (
            group is None
            or len(group) >= size
            or lengths[row] < (1 - max_padding) * lengths[group[0]]
        ):
            groups.append([row])
        else:
            group.append(row)
    return [micro(torch.tensor(g), int(lengths[g[0]])) for g in groups]


def shares(mask: Tensor, micro: list[MicroBatch], aggregation: str) -> list[float]:
    """Each micro-batch's share of the aggregated loss; mask [N, T] (1 on sampled tokens)."""
    if aggregation == "token-mean":
        counts = mask.sum(dim=1)  # [N]
    else:
        counts = (mask.sum(dim=1) > 0).to(mask.dtype)  # [N]
    total = counts.sum().clamp_min(1)
    return [float(counts[m.rows.to(counts.device)].sum() / total) for m in micro]
