"""A screening model: every method's advantages, on a policy-level model of the tasks, in a minute.

    .venv/bin/python benchmarks/simulate.py --task arith|kbqa|tradeoff|tradeoff_b8|all \\
        --seeds 20 --steps 60 \\
        [--methods paretopo static_50_50 'paretopo:dominance=gated' ...] [--table <warmstart_eval.md>]

What it is. ``sim_tiers.py`` turns a warm start's tier table into a task (tiers with accuracy by
number of calls) and a policy (a call-or-stop logit per tier per turn). Each step draws B prompts
(tiers, in the table's proportions) and G rollouts each, as the configs do (arith
``configs/quickstart.yaml``: 8 x 8; kbqa ``configs/kbqa_tiny.yaml``: 4 x 8; 60 steps), and scores
them with the real objectives (accuracy 1/0, tool_efficiency 1 - min(m, M)/M, both already in
[0, 1]; M = 4, 8 for ``tradeoff_b8``). ``tradeoff`` (``configs/tasks/tradeoff.yaml``) is arith's
easy and medium tiers, equally often; ``tradeoff_b8`` adds ``configs/tasks/budget8.yaml``. The advantages are the project's own: ``methods.method_advantages`` for every method,
``pareto.HypervolumeWeights`` for stage 1, and ``callbacks.StageSwitch``'s rule
(``should_switch``) with the configs' settings for ``paretopo``. A turn is one "token": the
[N, T] token advantages come back with T = 4 turns, the attribution masks are the real ones
(accuracy: every sampled turn; tool_efficiency: the turns that called), so stage 2's
action-level credit weights each call-or-stop decision as the real loss weights its tokens.
The update is REINFORCE on the logits, token-mean over the batch's sampled turns (the real
loss with ratio 1 and no KL), plain SGD at ``--lr``. The reported HV is exact, from the tier
model at the final policy: E[acc] x E[eff].

``--lr`` (default 4.0) is this model's one free constant. It was set on arith static 50/50
so that 60 steps do what the per-tier evaluation of docs/quickstart.md saw RL do in 60 real steps: easy-tier
calls fall to ~1% (sim: 0.010) and hard problems make one call (sim: 1.016 calls); lr 1, 2, 8
give 4%, 2%, 0.5% easy calls. No other number was fitted, and no method's HV; kbqa is out of
sample. (The real runs' 0.53 mean calls is out of the model's reach: the tier table fixes
medium problems' mental accuracy at 0.557, so every weighting that values accuracy keeps
their calls: 0.67 calls at the optimum.)

Methods are labels: the v1 names (``static_80_20`` etc.) or ``name:key=value,...`` with keys
of ``MethodArgs``, ``Stage1Args`` or ``Stage2Args`` (``paretopo:stage2.tau=0.9``; a bare key is
looked up in stage2, stage1, then the method). ALGORITHM v2's options are discovered at run
time: a label whose option the library does not have yet is reported as unavailable, not run.
The v1 labels (``paretopo``, ``stage2_only``, ...) pin v2's new options to their v1 values
(``V1_PINS``: dominance pareto, score rank, anchor archive), so they are the methods the real v1
runs of docs/results-v1.md trained; ``paretopo:anchor=archive,score=rank`` is ALGORITHM.md v2's
defaults (gated dominance is the library default).

Deliberately not modelled: see ``sim_tiers.py``; also no learning-rate schedule, no Adam,
no shared parameters between tiers (a real network generalises across them).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run without an install

from benchmarks.sim_tiers import (  # noqa: E402
    MAX_TURNS,
    TABLES,
    TierModel,
    expected_point,
    read_tier_table,
)
from lightning_paretopo.advantages import attribution_masks  # noqa: E402
from lightning_paretopo.args import MethodArgs, Stage1Args, Stage2Args  # noqa: E402
from lightning_paretopo.callbacks.stage_switch import StageSwitch  # noqa: E402
from lightning_paretopo.methods import AdvantageInputs, get_method, method_advantages  # noqa: E402
from lightning_paretopo.pareto import HypervolumeWeights, nan_mean_point  # noqa: E402
from lightning_paretopo.rewards import Accuracy, ToolEfficiency  # noqa: E402

try:  # ALGORITHM v2 (paretopo_paper's stage 1); absent in a v1 library
    from lightning_paretopo.pareto.meta_reward import SmoothedHVGain
except ImportError:  # pragma: no cover - v1
    SmoothedHVGain = None

# B prompts per step and the StageSwitch settings of each task's config.
TASKS = {
    "arith": {"batch_size": 8, "table": "arith", "budget": 4},
    "kbqa": {"batch_size": 4, "table": "kbqa", "budget": 4},
    "tradeoff": {"batch_size": 8, "table": "tradeoff", "budget": 4},
    "tradeoff_b8": {"batch_size": 8, "table": "tradeoff", "budget": 8},
}  # configs/quickstart.yaml, kbqa_tiny.yaml, + configs/tasks/tradeoff.yaml (+ budget8.yaml)
GROUP_SIZE = 8
SWITCH = {"min_stage1_steps": 10, "patience": 5, "min_delta": 0.001}  # max: steps // 2 (30);
# short runs (tests) lower min_stage1_steps to that cap
V1_METHODS = {
    "paretopo": "paretopo",
    "stage1_only": "stage1_only",
    "stage2_only": "stage2_only",
    "accuracy_only": "accuracy_only",
    "static_80_20": "static:weights=0.8/0.2",
    "static_50_50": "static:weights=0.5/0.5",
    "static_20_80": "static:weights=0.2/0.8",
    "gdpo": "gdpo:weights=0.5/0.5",
    "otc": "otc",
}
# ALGORITHM v1's choices for options v2 added (S5-S7): a v1 label runs as the real v1 runs did.
V1_PINS = {"stage1": {"anchor": "archive"}, "stage2": {"dominance": "pareto", "score": "rank"}}
V2_CANDIDATES = [  # every option written out, so a label means one thing whatever the defaults
    "paretopo_paper",
    "paretopo:anchor=archive,score=rank",  # ALGORITHM.md v2's defaults
    "paretopo:anchor=archive,score=hv_gradient",
    "paretopo:anchor=archive,score=paper",
    "paretopo:anchor=point,score=rank",
    "paretopo:anchor=point,score=hv_gradient",  # the project's defaults since 2026-12-07
    "stage2_only:score=rank",
    "stage2_only:score=hv_gradient",
]
CLEAR_GAP = 0.01  # a real HV gap above the typical seed std of docs/results-v1.md (~0.01)
# docs/results-v1.md (v1): mean per-run test HV over 3 seeds.
REAL_V1 = {
    "arith": {"paretopo": 0.796, "stage1_only": 0.784, "stage2_only": 0.798,
              "accuracy_only": 0.705, "static_80_20": 0.794, "static_50_50": 0.797,
              "static_20_80": 0.625, "gdpo": 0.667, "otc": 0.794},
    "kbqa": {"paretopo": 0.438, "stage1_only": 0.374, "stage2_only": 0.428,
             "accuracy_only": 0.459, "static_80_20": 0.451, "static_50_50": 0.453,
             "static_20_80": 0.201, "gdpo": 0.260, "otc": 0.452},
}  # fmt: skip


def _value(text: str) -> object:
    if "/" in text:
        return [float(v) for v in text.split("/")]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def method_args(label: str) -> MethodArgs:
    """The ``MethodArgs`` of a label (module docstring); raises if the library lacks an option."""
    spec = V1_METHODS.get(label, label)
    name, _, opts = spec.partition(":")
    groups: dict[str, dict[str, object]] = {"method": {}, "stage1": {}, "stage2": {}}
    known = {g: {f.name for f in dataclasses.fields(c)} for g, c in
             (("method", MethodArgs), ("stage1", Stage1Args), ("stage2", Stage2Args))}  # fmt: skip
    if label in V1_METHODS:  # the v1 definitions the real runs used, where v2 changed a default
        for group, pins in V1_PINS.items():
            groups[group] |= {k: v for k, v in pins.items() if k in known[group]}
    for item in filter(None, opts.split(",")):
        key, _, text = item.partition("=")
        group, _, field = key.rpartition(".")
        group = group or next((g for g in ("stage2", "stage1", "method") if key in known[g]), "")
        if field not in known.get(group, ()):
            raise ValueError(f"{label}: this library has no method option {key!r}")
        groups[group][field] = _value(text)
    return MethodArgs(
        name=name,
        stage1=Stage1Args(**groups["stage1"]),
        stage2=Stage2Args(**groups["stage2"]),
        **groups["method"],
    )


@dataclass
class SimBatch:
    """What ``method_advantages`` reads of a ``RolloutBatch``."""

    group_size: int
    action_mask: Tensor  # [N, T] 1 on the turns taken
    tool_calls: Tensor  # [N] calls per rollout


def _hv_weights(args: MethodArgs) -> HypervolumeWeights:
    """Stage 1's rule built from ``args.stage1`` as the module builds it (any matching field)."""
    params = inspect.signature(HypervolumeWeights).parameters
    kwargs = {k: v for k, v in dataclasses.asdict(args.stage1).items() if k in params}
    return HypervolumeWeights(2, **kwargs)


def _objectives() -> tuple[list[str], tuple[bool, ...]]:
    """The configs' heads (Accuracy, ToolEfficiency(budget 4)): attributions and gated flags."""
    heads = [Accuracy(), ToolEfficiency(budget=4)]
    return [h.attribution for h in heads], tuple(bool(getattr(h, "gated", False)) for h in heads)


def _extra_inputs(gated: tuple[bool, ...], smoothed_dhv: float) -> dict:
    """The v2 ``AdvantageInputs`` fields this library has, filled as ``module.py`` fills them."""
    have = {f.name for f in dataclasses.fields(AdvantageInputs)}
    extra = {"gated": gated, "smoothed_dhv": smoothed_dhv}
    return {k: v for k, v in extra.items() if k in have}


def rollouts(model: TierModel, theta: Tensor, B: int, gen: torch.Generator, spread: float):
    """N = B*G rollouts: tier [N], calls m [N], correct [N], action and tool-turn masks [N, 4].

    ``spread`` > 0: each prompt draws its own P(correct | m) from Beta(mu k, (1 - mu) k) with
    k = 1 / spread and mu the tier's value (so the tier mean, and the exact HV, are unchanged);
    0: every rollout of a tier is i.i.d.
    """
    tier = torch.multinomial(model.share, B, replacement=True, generator=gen)  # [B]
    acc = model.acc[tier]  # [B, 5]
    if spread > 0:
        mu = acc.clamp(1e-4, 1 - 1e-4)
        u = torch.rand(B, 5, generator=gen, dtype=torch.float64)
        acc = torch.where(acc > 0, beta_quantile(mu, 1 / spread, u), acc)  # [B, 5]
    tier, acc = tier.repeat_interleave(GROUP_SIZE), acc.repeat_interleave(GROUP_SIZE, dim=0)
    N = tier.shape[0]
    calls = torch.rand(N, MAX_TURNS, generator=gen, dtype=torch.float64) < torch.sigmoid(
        theta[tier]
    )  # [N, 4]: would call at turn j
    m = torch.cumprod(calls.long(), dim=1).sum(dim=1)  # [N] calls before the first answer
    p_correct = acc.gather(1, m[:, None]).squeeze(1)  # [N]
    correct = torch.rand(N, generator=gen, dtype=torch.float64) < p_correct  # [N]
    turn = torch.arange(MAX_TURNS)  # [4]
    action = (turn[None] <= m[:, None]).double()  # [N, 4]: turns 0..m taken (capped at 3)
    tool = (turn[None] < m[:, None]).double()  # [N, 4]: the turns that called
    return tier, m, correct, action, tool


def beta_quantile(mu: Tensor, k: float, u: Tensor) -> Tensor:
    """Beta(mu k, (1 - mu) k) draws by the inverse CDF of uniforms u (scipy; deterministic)."""
    from scipy.stats import beta

    return torch.from_numpy(beta.ppf(u.numpy(), (mu * k).numpy(), ((1 - mu) * k).numpy()))


def train(
    model: TierModel, label: str, seed: int, steps: int, B: int, lr: float, spread: float = 0.0
) -> dict:
    """One run of ``label``: the final exact point, HV, switch step and w*."""
    args = method_args(label)
    attributions, gated = _objectives()
    gen = torch.Generator().manual_seed(seed)
    theta = model.theta0.clone()  # [T, 4]
    declared = get_method(args.name)  # the method's declaration (methods/catalog.py)
    switching, dynamic = declared.switches, declared.weights == "dynamic"
    hv_w = _hv_weights(args) if dynamic or switching else None
    paper = declared.hv_gain
    meta = SmoothedHVGain(2, getattr(args.stage1, "meta_gamma", 0.9)) if paper else None
    w = args.weights or list(declared.default_weights or (0.5, 0.5))
    static = torch.tensor(w, dtype=torch.float64) / sum(w)
    stage = 2 if args.name == "stage2_only" else 1
    init = args.stage1.init_weights or [0.5, 0.5]
    frozen = torch.tensor(init, dtype=torch.float64) if stage == 2 else None  # w* = initial
    cap = max(1, steps // 2)  # the configs' max_stage1_steps: 30 of 60
    switch = StageSwitch(**(SWITCH | {"min_stage1_steps": min(SWITCH["min_stage1_steps"], cap)}))
    switch._max_steps = switch.resolve_max_stage1_steps(2 * cap)  # as on_fit_start does
    hv_history = {0: 0.0}  # the module's train_history at on_train_start: the empty archive
    switch_step = None
    for step in range(steps):
        tier, m, correct, action, tool = rollouts(model, theta, B, gen, spread)
        eff = 1 - m.double().clamp(max=model.budget) / model.budget
        R = torch.stack([correct.double(), eff], dim=1)  # [N, 2] (bounds [0, 1]: r~ = r)
        point = nan_mean_point(R)  # [2]
        if hv_w is not None:
            hv_w.step(point)
        if meta is not None and stage == 1:
            meta.step(point)
        weights = frozen if stage == 2 else (hv_w.weights if dynamic else static)
        masks = attribution_masks(action, tool, attributions)  # [N, 2, 4]
        extra = _extra_inputs(gated, meta.value if meta is not None else 0.0)
        x = AdvantageInputs(R, R, SimBatch(GROUP_SIZE, action, m), masks, weights, 0, **extra)
        _, a = method_advantages(args, stage, x)  # [N, 4]
        decision = tool - torch.sigmoid(theta[tier])  # [N, 4]: d log pi / d theta at turn j
        grad = torch.zeros_like(theta).index_add_(0, tier, a.double() * decision * action)
        theta += lr * grad / action.sum()  # token-mean over the sampled turns
        if switching and stage == 1:
            hv_history[step + 1] = hv_w.hypervolume
            if switch.should_switch(step + 1, hv_history):
                frozen = (hv_w.weights if dynamic else static).clone()
                stage, switch_step = 2, step + 1
    acc, calls, eff = expected_point(model, theta)
    w_star = None if frozen is None else float(frozen[0])
    return {"acc": acc, "calls": calls, "hv": acc * eff, "switch": switch_step, "w_acc": w_star}


def _ms(values: list[float], digits: int = 3) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r

    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return cov / var if var else math.nan


def available(labels: list[str]) -> tuple[list[str], dict[str, str]]:
    """The labels the library can build, and why each other one cannot be."""
    ok, missing = [], {}
    for label in labels:
        try:
            method_args(label)
            ok.append(label)
        except (TypeError, ValueError) as err:
            missing[label] = str(err).splitlines()[0]
    return ok, missing


def run_task(
    task: str, model: TierModel, labels: list[str], seeds: int, steps: int, lr: float,
    spread: float = 0.0,
) -> tuple[dict, dict]:  # fmt: skip
    """Every label over ``seeds`` seeds; returns {label: [run dicts]} and {label: error}."""
    results, failed = {}, {}
    B = TASKS[task]["batch_size"]
    for label in labels:
        try:
            results[label] = [train(model, label, s, steps, B, lr, spread) for s in range(seeds)]
        except Exception as err:  # noqa: BLE001 - a v2 option that needs more than we pass
            failed[label] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    return results, failed


def ordering(results: dict, real: dict[str, float], source: str, what: str) -> list[str]:
    """Lines comparing the sim's mean HV order with ``real`` {sim label: real mean HV}."""
    shared = [k for k in real if k in results]
    if len(shared) < 3:
        return []
    sim = [statistics.mean(r["hv"] for r in results[k]) for k in shared]
    reals = [real[k] for k in shared]
    agree = total = clear_agree = clear = 0
    for i in range(len(shared)):
        for j in range(i + 1, len(shared)):
            same = (sim[i] - sim[j]) * (reals[i] - reals[j]) > 0
            total, agree = total + 1, agree + same
            if abs(reals[i] - reals[j]) > CLEAR_GAP:
                clear, clear_agree = clear + 1, clear_agree + same
    order = ", ".join(k for _, k in sorted(zip(sim, shared, strict=True), reverse=True))
    return [
        "",
        f"Against {source} ({len(shared)} {what}): Spearman rho {spearman(sim, reals):.2f}; "
        f"{agree}/{total} method pairs ordered as in the real runs; {clear_agree}/{clear} of "
        f"the pairs whose real HVs differ by more than {CLEAR_GAP}. Sim order: {order}.",
    ]


# A benchmark record's method label -> the sim label that trains the same method (the blocks
# ran every option written out; stage2_only there is gated ranks).
RECORD_LABELS = {
    "paretopo_rank": "paretopo:anchor=archive,score=rank",
    "paretopo_hv_gradient": "paretopo:anchor=archive,score=hv_gradient",
    "paretopo_point_hvg": "paretopo:anchor=point,score=hv_gradient",
    "stage2_only": "stage2_only:score=rank",
}


def records_hv(records_dir: Path, task: str) -> dict[str, float]:
    """{sim label: mean final test HV} of the task's benchmark records ({} without any)."""
    per: dict[str, list[float]] = {}
    for path in sorted((records_dir / task).glob("s*/*.json")):
        record = json.loads(path.read_text())
        per.setdefault(record["method"], []).append(record["final"]["hv"])
    return {RECORD_LABELS.get(m, m): statistics.mean(v) for m, v in per.items()}


def markdown(
    task: str, model: TierModel, results: dict, steps: int, real_v2: dict | None = None
) -> str:
    """The task's table (mean ± std over seeds) and its ordering against the real runs (v1's,
    and the benchmark records' ``real_v2`` {sim label: mean HV} when given)."""
    acc0, calls0, eff0 = expected_point(model, model.theta0)
    lines = [
        f"Start point (exact, from the table): accuracy {acc0:.3f}, calls {calls0:.3f}, "
        f"HV {acc0 * eff0:.3f}.",
        "",
        "| method | accuracy | tool calls | HV (exact) | real v1 HV | switch step | w*_acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, runs in results.items():
        real = REAL_V1.get(task, {}).get(label)
        sw = [r["switch"] for r in runs if r["switch"] is not None]
        w = [r["w_acc"] for r in runs if r["w_acc"] is not None]
        cells = [_ms([r[k] for r in runs]) for k in ("acc", "calls", "hv")]
        cells += ["–" if real is None else f"{real:.3f}", _ms(sw, 1) if sw else "–"]
        cells.append(_ms(w, 2) if w else "–")
        base = label.partition(":")[0]
        if base != label and base in results and runs == results[base]:
            cells[-1] += f" (= `{base}` bit for bit)"
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    lines += ordering(results, REAL_V1.get(task, {}), "docs/results-v1.md", "v1 methods")
    lines += ordering(results, real_v2 or {}, "benchmarks/records", "methods, mean over seeds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=[*TASKS, "all"], default="all")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--lr", type=float, default=4.0, help="SGD step on the logits")
    p.add_argument(
        "--spread", type=float, default=0.0,
        help="per-prompt accuracy spread 1/k of Beta(mu k, (1-mu) k); 0: i.i.d. rollouts",
    )  # fmt: skip
    p.add_argument("--methods", nargs="+", default=None, help="labels; default: v1 + v2 found")
    p.add_argument("--table", default=None, help="a warmstart_eval.md (one task only)")
    p.add_argument(
        "--records", type=Path, default=REPO / "benchmarks" / "records",
        help="benchmark records to compare the ordering with",
    )  # fmt: skip
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    tasks = list(TASKS) if a.task == "all" else [a.task]
    if a.table and len(tasks) != 1:
        p.error("--table needs one --task")
    labels, missing = available(a.methods or [*V1_METHODS, *V2_CANDIDATES])
    print(f"# simulate.py --task {a.task} --seeds {a.seeds} --steps {a.steps} --lr {a.lr} "
          f"--spread {a.spread}\n")  # fmt: skip
    print(f"`paretopo` resolves to {dataclasses.asdict(method_args('paretopo'))}\n")
    for task in tasks:
        tiers = read_tier_table(a.table) if a.table else TABLES[TASKS[task]["table"]]
        model = TierModel.from_tiers(tiers, TASKS[task]["budget"])
        start = time.perf_counter()
        results, failed = run_task(task, model, labels, a.seeds, a.steps, a.lr, a.spread)
        source = a.table or "docs/quickstart.md's table"
        B = TASKS[task]["batch_size"]
        print(f"## {task} ({source}; {B} x {GROUP_SIZE} rollouts, {a.steps} steps, "
              f"{a.seeds} seeds; {time.perf_counter() - start:.1f} s)\n")  # fmt: skip
        print(markdown(task, model, results, a.steps, records_hv(a.records, task)))
        for label, why in {**missing, **failed}.items():
            print(f"\n- `{label}` not run: {why}")
        print()


if __name__ == "__main__":
    main()
