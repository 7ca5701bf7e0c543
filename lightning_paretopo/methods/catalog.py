"""Every method of ALGORITHM.md, declared once: ``METHODS[name]`` is a ``Method``.

A ``Method`` says everything the rest of the project asks about a method: its stage-1 (or
only) advantage, where its weights come from, whether it switches to stage 2 (and whether it
starts there), which stage-2 options it fixes, what it needs from the objectives, and how its
run is labelled. The module, the stage switch, the checks, the run directories and the config
validation read these fields; none of them compares method names. Adding a method is one
entry below (docs/algorithm.md, "Adding a method", has a worked example).

| method          | stage-1 advantage A [N] (``stage1``)                     | stages   | weights |
|-----------------|----------------------------------------------------------|----------|---------|
| paretopo        | scalarised with the dynamic HV weights                   | 1 -> 2   | dynamic |
| stage1_only     | scalarised with the dynamic HV weights                   | 1        | dynamic |
| stage2_only     | (none: Pareto rank from step 0, w* = initial weights)    | 2        | dynamic |
| accuracy_only   | GRPO on the accuracy objective alone                     | 1        | static  |
| static          | scalarised with fixed weights                            | 1        | static  |
| gdpo            | per-objective group z-scores, weighted sum               | 1        | static  |
| otc             | OTC-GRPO reward r_tool * r_correct, group-normalised     | 1        | static  |
| hv_meta         | static weights x (0.5 + 1.5 tanh(val HV contribution))   | 1        | static  |
| paretopo_paper  | w0 scalarised x (0.5 + 1.5 tanh(smoothed dHV)), centred, | 1 -> 2   | static  |
|                 | no std; stage 2 fixed to plain Pareto fronts + "paper"   |          | (w0)    |

"dynamic" weights are stage 1's ``HypervolumeWeights``; "static" are ``method.weights``
(uniform when None, or the method's ``default_weights``). At the switch (or at step 0 for a
method that starts in stage 2) the current weights are frozen as w*.

Not done here: stage 2's mathematics (``stage2.py``, ``advantages/``), the state (the module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor

from lightning_paretopo.advantages import (
    gdpo_advantages,
    hv_meta_advantages,
    otc_advantages,
    scalarized_advantages,
)
from lightning_paretopo.methods.inputs import AdvantageInputs
from lightning_paretopo.rewards.base import is_correct

if TYPE_CHECKING:
    from lightning_paretopo.args import MethodArgs

Advantage = Callable[["MethodArgs", AdvantageInputs], Tensor]


@dataclass(frozen=True)
class Method:
    """One method (module docstring).

    Attributes:
        name: ``method.name`` in configs.
        summary: one line, for docs and error messages.
        stage1: [N] trajectory advantages outside stage 2; None for a method that starts there.
        stages: ``"1"`` (never switches), ``"1->2"`` (StageSwitch moves it) or ``"2"``.
        weights: ``"dynamic"`` (stage 1's HV weights) or ``"static"`` (``method.weights``).
        default_weights: static weights when ``method.weights`` is None (else uniform); they
            fix K.
        stage2_fixed: stage-2 options the method fixes, whatever ``method.stage2`` says
            (``{"dominance": ..., "score": ...}``).
        needs_accuracy: reads the accuracy objective in stage 1 (besides gated dominance).
        label_weights: the run label carries ``method.weights`` (``static_0.8_0.2``).
        hv_gain: keeps the smoothed HV gain of the batch point in stage 1 (``SmoothedHVGain``).
    """

    name: str
    summary: str
    stage1: Advantage | None
    stages: Literal["1", "1->2", "2"] = "1"
    weights: Literal["dynamic", "static"] = "static"
    default_weights: tuple[float, ...] | None = None
    stage2_fixed: dict[str, str] = field(default_factory=dict)
    needs_accuracy: bool = False
    label_weights: bool = False
    hv_gain: bool = False

    @property
    def switches(self) -> bool:
        """StageSwitch moves it from stage 1 to stage 2."""
        return self.stages == "1->2"

    @property
    def start_stage(self) -> int:
        return 2 if self.stages == "2" else 1

    @property
    def has_stage2(self) -> bool:
        return self.stages != "1"

    def stage2_options(self, args: MethodArgs) -> tuple[str, str]:
        """(dominance, score) of stage 2: the method's fixed choices over ``args.stage2``."""
        s2 = args.stage2
        fixed = self.stage2_fixed
        return fixed.get("dominance", s2.dominance), fixed.get("score", s2.score)

    def reads_accuracy(self, args: MethodArgs) -> str | None:
        """Why this configuration needs an ``accuracy`` objective (a field name), or None."""
        if self.needs_accuracy:
            return "method.name"
        if self.has_stage2 and self.stage2_options(args)[0] == "gated":
            return "method.stage2.dominance"
        return None


def _accuracy_column(args: MethodArgs, x: AdvantageInputs) -> int:
    if x.accuracy_index is None:
        raise ValueError(f"method {args.name!r} needs an objective named 'accuracy' in objectives")
    return x.accuracy_index


def _scalarized(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    return scalarized_advantages(x.R, x.weights, x.batch.group_size, args.stage1.scale)


def _accuracy_only(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    k = _accuracy_column(args, x)
    one = torch.ones(1, dtype=x.R.dtype)
    return scalarized_advantages(x.R[:, k : k + 1], one, x.batch.group_size, args.stage1.scale)


def _gdpo(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    return gdpo_advantages(x.R, x.weights, x.batch.group_size)


def _otc(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    correct = is_correct(x.R_raw[:, _accuracy_column(args, x)])  # [N]
    G, scale = x.batch.group_size, args.stage1.scale
    return otc_advantages(correct, x.batch.tool_calls, G, c=args.otc_c, scale=scale)


def _hv_meta(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    G, gain = x.batch.group_size, max(0.0, x.hv_contribution)
    return hv_meta_advantages(x.R, x.weights, G, gain, args.stage1.scale)


def _paper_stage1(args: MethodArgs, x: AdvantageInputs) -> Tensor:
    # [ours] centred without std: a batch-wide factor survives
    return hv_meta_advantages(x.R, x.weights, x.batch.group_size, max(0.0, x.smoothed_dhv), "none")


_ENTRIES = [
    Method("paretopo", "stage 1 (dynamic HV weights), then the switch, then stage 2",
           _scalarized, stages="1->2", weights="dynamic"),
    Method("stage1_only", "ParetoPO's stage 1 only (ablation)", _scalarized, weights="dynamic"),
    Method("stage2_only", "ParetoPO's stage 2 from step 0 (ablation)", None, stages="2",
           weights="dynamic"),
    Method("accuracy_only", "GRPO on accuracy alone", _accuracy_only, needs_accuracy=True),
    Method("static", "fixed linear weights", _scalarized, label_weights=True),
    Method("gdpo", "per-objective group z-scores, weighted", _gdpo, label_weights=True),
    Method("otc", "OTC-GRPO: r_tool * r_correct", _otc, needs_accuracy=True),
    Method("hv_meta", "static weights x the validation HV meta-reward", _hv_meta,
           label_weights=True),
    Method("paretopo_paper", "ParetoPO as the paper's summaries report it", _paper_stage1,
           stages="1->2", default_weights=(0.6, 0.4), hv_gain=True,
           stage2_fixed={"dominance": "pareto", "score": "paper"}),
]  # fmt: skip
METHODS: dict[str, Method] = {m.name: m for m in _ENTRIES}
"""Every method by name, in the order of the table above."""


def get_method(name: str) -> Method:
    """``METHODS[name]``, or a ValueError naming ``method.name`` and the choices."""
    if name not in METHODS:
        raise ValueError(f"method.name must be one of {list(METHODS)}, got {name!r}")
    return METHODS[name]
