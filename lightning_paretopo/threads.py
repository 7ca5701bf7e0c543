"""torch's intra-op threads on small CPUs: one thread per two cores, up to 4 cores.

Contract:
    ``default_num_threads(cores, env)``: with ``OMP_NUM_THREADS`` set, None (torch already
    follows it); else ``max(1, cores // 2)`` on a machine with at most ``SMALL_CPU`` (4) usable
    cores (1 on 2 cores, 2 on 4); else None (torch's own default: one per physical core).
    ``choose_num_threads(flag, cores, env)``: the CLI's ``--num_threads`` (an int >= 1) wins,
    then the rule above; returns (threads or None, why). ``apply_num_threads(flag)`` sets it
    with ``torch.set_num_threads`` on this process's usable cores (``os.sched_getaffinity``)
    and logs the choice; the CLI calls it before anything is built.

Why: the trainer's forward passes are small (a tiny policy, or a 135M model at batch 8), and
OpenMP threads spin at each barrier while they wait for a core. On 2 busy cores, 2 threads
per process made a warm-start step 6-10x slower than 1 thread (``warmstart.module``'s
``num_threads``), and a SmolLM2-135M start evaluation with torch's default threads never
finished where one thread finished it (issue 14). Half the cores leaves one for the rest of the machine. Why not by load: the
number of threads can change the order of float reductions, so a rule that read the machine's
load would let the same command give different numbers on another day; this rule depends on
the machine's size only.

Deliberately not done: no change of inter-op threads or of other processes (the python tool's
sandbox sets its own ``OMP_NUM_THREADS=1``); nothing above 4 cores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch

log = logging.getLogger(__name__)

SMALL_CPU = 4
"""Machines with at most this many usable cores get ``max(1, cores // 2)`` threads."""


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers and taskset set)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_num_threads(cores: int, env: Mapping[str, str]) -> int | None:
    """The default intra-op threads on ``cores`` usable cores, or None to leave torch's."""
    if env.get("OMP_NUM_THREADS"):
        return None
    if cores <= SMALL_CPU:
        return max(1, cores // 2)
    return None


def choose_num_threads(
    flag: int | None, cores: int, env: Mapping[str, str]
) -> tuple[int | None, str]:
    """(threads to set or None, the reason): ``--num_threads``, else ``default_num_threads``."""
    if flag is not None:
        if isinstance(flag, bool) or not isinstance(flag, int) or flag < 1:
            raise ValueError(
                f"--num_threads must be an int >= 1 (or null for the default), got {flag!r}"
            )
        return flag, "--num_threads"
    threads = default_num_threads(cores, env)
    if threads is None:
        why = "OMP_NUM_THREADS is set" if env.get("OMP_NUM_THREADS") else f"{cores} cores"
        return None, f"torch's default ({why})"
    return threads, f"{cores} usable cores <= {SMALL_CPU}, OMP_NUM_THREADS unset"


def apply_num_threads(flag: int | None = None) -> int:
    """Set torch's intra-op threads by ``choose_num_threads``; returns the number in use."""
    threads, why = choose_num_threads(flag, usable_cores(), os.environ)
    if threads is not None:
        torch.set_num_threads(threads)
    log.info(
        "torch threads: %d (%s; change with --num_threads N or OMP_NUM_THREADS)",
        torch.get_num_threads(),
        why,
    )
    return torch.get_num_threads()
