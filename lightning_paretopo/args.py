"""Groups of related ``ParetoPOModule`` arguments. The signature is the schema: each field's
docstring becomes its ``--help`` text in LightningCLI, and each group validates itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_type_hints

from lightning_paretopo.advantages.compare import Dominance
from lightning_paretopo.advantages.group import Scale
from lightning_paretopo.advantages.pareto_rank import TieBreak
from lightning_paretopo.advantages.scores import Score
from lightning_paretopo.losses import Aggregation
from lightning_paretopo.pareto.weights import Anchor
from lightning_paretopo.rollout.chat_prompt import (
    DEFAULT_ANSWER_INSTRUCTION,
    DEFAULT_SYSTEM_PROMPT,
    ToolsIn,
    text_argument,
)

ProtocolName = Literal["tagged", "chat"]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_choices(obj: Any, prefix: str) -> None:
    """Every ``Literal[...]`` field of the dataclass ``obj`` holds one of its values; the error
    names ``<prefix>.<field>`` and the choices (the same list ``--help`` shows)."""
    for name, hint in get_type_hints(type(obj)).items():
        choices = get_args(hint) if getattr(hint, "__origin__", None) is Literal else ()
        value = getattr(obj, name)
        if choices and value not in choices:
            raise ValueError(f"{prefix}.{name} must be one of {list(choices)}, got {value!r}")


def as_args(cls: type, value: Any) -> Any:
    """``value`` as a ``cls`` instance: None -> defaults, a dict (as stored in a checkpoint's
    hyper-parameters) -> ``cls(**value)``, an instance -> itself."""
    if value is None:
        return cls()
    if isinstance(value, dict):
        return cls(**value)
    return value


@dataclass
class PolicyArgs:
    """Which policy to train and how to load it."""

    name_or_path: str = "logs/policies/tiny-arith"
    """Hugging Face hub id (e.g. Qwen/Qwen2.5-1.5B-Instruct) or a local save_pretrained dir."""
    gguf_file: str | None = None
    """A GGUF file inside name_or_path to load instead, dequantised to dtype (needs the gguf
    package). Faster to start from: convert it once (python -m lightning_paretopo.policy.convert)."""
    trust_remote_code: bool = False
    """Let transformers run the checkpoint's own modelling/tokenizer code (model and tokenizer)."""
    warmstart: str | None = None
    """Warm-start config (e.g. configs/warmstart/arith.yaml) that the CLI runs before it builds
    the module when name_or_path is a missing local directory (once, on global rank 0; other
    ranks wait: lightning_paretopo/warmstart/ensure.py). None: a missing policy is an error."""
    dtype: str = "float32"
    """Parameter dtype: float32, bfloat16 or float16 (the compute dtype under 4-bit)."""
    lora: dict[str, Any] | None = None
    """LoRA settings for peft (r, lora_alpha, lora_dropout, target_modules); None = full model."""
    load_in_4bit: bool = False
    """QLoRA: NF4 base weights through bitsandbytes (needs lora)."""
    gradient_checkpointing: bool = False
    """Trade compute for memory in the training forward passes."""


@dataclass
class ChatArgs:
    """What the chat protocol (rollout.protocol: chat) puts in the system message."""

    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    """The system message's first part (None: none)."""
    answer_instruction: str | None = DEFAULT_ANSWER_INSTRUCTION
    """How to write the final answer, after system_prompt; keep it in line with the reward
    heads' answer_formats (e.g. "End with the final answer as '#### <number>'." for [gsm8k])."""
    tool_schemas: dict[str, dict[str, Any]] | None = None
    """Tool name -> JSON schema (OpenAI function format), added to or replacing the defaults
    (rollout.chat.DEFAULT_TOOL_SCHEMAS); the first required parameter takes the call's text."""
    tools_in: ToolsIn = "auto"
    """Where the schemas go: "template" (the chat template's tools=), "system" (a hermes
    <tools> block in the system message, as Qwen2.5 writes it) or "auto" (template when it
    renders tools=, else system; logged at set-up)."""

    def __post_init__(self) -> None:
        _check_choices(self, "rollout.chat")
        for name, schema in (self.tool_schemas or {}).items():
            text_argument(name, schema)


@dataclass
class RolloutArgs:
    """How trajectories are sampled."""

    group_size: int = 8
    """G: rollouts per prompt; group statistics are taken over them."""
    protocol: ProtocolName = "tagged"
    """Tool markup: "tagged" (<calc>..</calc>) or "chat" (hermes <tool_call> via the chat template)."""
    chat: ChatArgs = field(default_factory=ChatArgs)
    """System prompt, answer instruction and tool schemas of the chat protocol."""
    max_turns: int = 4
    """Policy turns per trajectory."""
    max_new_tokens: int = 48
    """Sampled tokens per turn."""
    max_total_tokens: int = 256
    """Tokens per trajectory: prompt, actions and observations."""
    temperature: float = 1.0
    """Sampling temperature for training rollouts (> 0: training always samples)."""
    top_p: float = 1.0
    """Nucleus sampling threshold for training rollouts."""
    val_greedy: bool = True
    """Greedy decoding for validation and test (False: sample at ``temperature``)."""
    test_samples: int = 1
    """Sampled rollouts per test task (``trainer.test`` and RunSummary's start and final points;
    greedy evaluation takes 1): a steadier estimate of the sampled policy's expected point.
    Validation takes one per task: it runs often, and its points only draw the curves."""

    def __post_init__(self) -> None:
        self.chat = as_args(ChatArgs, self.chat)
        self._check_budgets()
        _check(
            self.temperature > 0,
            f"rollout.temperature must be > 0 (got {self.temperature}): training rollouts "
            "always sample, at this temperature; for greedy validation and test decoding set "
            "rollout.val_greedy: true",
        )
        _check(
            0 < self.top_p <= 1,
            f"rollout.top_p must be in (0, 1] (1 turns nucleus sampling off), got {self.top_p}",
        )
        _check(
            self.group_size >= 2,
            f"rollout.group_size must be >= 2 (got {self.group_size}): "
            "group statistics need at least two rollouts per prompt",
        )
        _check(
            self.test_samples >= 1,
            f"rollout.test_samples must be >= 1 (rollouts per test task), got {self.test_samples}",
        )
        _check_choices(self, "rollout")

    def _check_budgets(self) -> None:
        for name, low, what in [
            ("max_turns", 1, "policy turns per trajectory"),
            ("max_new_tokens", 1, "tokens sampled per turn"),
            ("max_total_tokens", 2, "tokens per trajectory, prompt included"),
        ]:
            value = getattr(self, name)
            _check(value >= low, f"rollout.{name} must be >= {low} ({what}), got {value}")


@dataclass
class Stage1Args:
    """Stage 1: hypervolume-guided dynamic scalarisation (ALGORITHM.md S1, S2, S7)."""

    alpha: float = 0.3
    """EMA rate of the policy point p."""
    eta: float = 0.2
    """Step size of the weight update toward the HV-gradient direction."""
    w_min: float = 0.05
    """Floor of each weight before renormalising."""
    update_every: int = 1
    """Steps between weight updates."""
    init_weights: list[float] | None = None
    """Initial weights on the simplex; None = uniform."""
    scale: Scale = "group"
    """Advantage scaling: "group" (divide by the group std) or "none"."""
    anchor: Anchor = "point"
    """Where the HV gradient is taken (S7): "point" (g_k = prod_{j != k} p_j at the EMA point
    itself; the project's default since 2026-12-07, docs/algorithm.md "Defaults chosen by
    evidence") or "archive" (the EMA point projected onto the global archive: the spec's
    default and version 1's)."""
    meta_gamma: float = 0.9
    """paretopo_paper only: smoothing of the batch point's HV gain, in [0, 1)."""

    def __post_init__(self) -> None:
        _check_choices(self, "method.stage1")
        _check(
            0 <= self.meta_gamma < 1,
            f"method.stage1.meta_gamma must be in [0, 1), got {self.meta_gamma}",
        )


@dataclass
class Stage2Args:
    """Stage 2: Pareto-rank advantages with dominance-aware credit (S3-S6)."""

    dominance: Dominance = "gated"
    """What is compared (S5): "gated" (gated objectives times accuracy; needs an objective
    named accuracy) or "pareto" (the normalised rewards as they are, version 1)."""
    score: Score = "hv_gradient"
    """Score (S6): "hv_gradient" (sum_k g_k (r~_k - pbar_k) at the group's mean point; the
    project's default since 2026-12-07, docs/algorithm.md "Defaults chosen by evidence"),
    "rank" (-front + tau * tie-break: the spec's default) or "paper" (the paper's reported rank
    formula)."""
    paper_beta: float = 1.0
    """Within-rank scale beta of the "paper" score (the summaries report beta <= 1)."""

    tie_break: TieBreak = "utility"
    """Within-front tie-break: utility (under the frozen w*), crowding, domination or none."""
    tau: float = 0.5
    """Tie-break scale, 0 <= tau < 1 so a tie-break never crosses a front."""
    credit: bool = True
    """Action-level credit: route each objective's blame/credit to the tokens it concerns."""

    def __post_init__(self) -> None:
        _check_choices(self, "method.stage2")
        _check(
            0 <= self.paper_beta <= 1,
            f"method.stage2.paper_beta must be in [0, 1], got {self.paper_beta}",
        )
        _check(
            0 <= self.tau < 1,
            f"method.stage2.tau must satisfy 0 <= tau < 1 (a tie-break never crosses a front), "
            f"got {self.tau}",
        )


@dataclass
class LossArgs:
    """The clipped token-level policy gradient."""

    clip_eps: float = 0.2
    """Lower (and default upper) clip range of the importance ratio."""
    clip_eps_high: float | None = None
    """Upper clip range; None = clip_eps."""
    kl_beta: float = 0.0
    """Weight of the k3 KL penalty to the reference policy (0 = off)."""
    aggregation: Aggregation = "token-mean"
    """token-mean over the batch, or seq-mean."""
    ppo_epochs: int = 1
    """Optimisation passes over each rollout batch (1: the ratio is exactly 1). Each pass is one
    optimizer step, so trainer.global_step (max_steps, the switch step) advances ppo_epochs per
    rollout batch."""
    micro_batch_size: int | None = None
    """Rows per forward/backward pass (gradient accumulation); None = the whole batch."""
    max_padding: float | None = 0.25
    """Length-grouped micro-batches: rows sorted by length, a micro-batch closes before a row
    shorter than (1 - max_padding) x its longest, and is fed only up to its longest row, so
    padding takes at most this share of it (same loss and gradient, fewer padded tokens).
    None: rows in batch order, micro_batch_size at a time, padded to the batch's longest."""
    max_grad_norm: float | None = 1.0
    """Gradient clipping norm; None = off."""

    def __post_init__(self) -> None:
        _check(self.ppo_epochs >= 1, f"loss.ppo_epochs must be >= 1, got {self.ppo_epochs}")
        _check(
            self.max_padding is None or 0 <= self.max_padding < 1,
            f"loss.max_padding must be in [0, 1) or null, got {self.max_padding}",
        )
        _check_choices(self, "loss")


@dataclass
class MethodArgs:
    """Which advantage signal trains the policy (ALGORITHM.md, Baselines)."""

    name: str = "paretopo"
    """A method of ``lightning_paretopo.methods.METHODS``: paretopo, stage1_only, stage2_only,
    accuracy_only, static, gdpo, otc, hv_meta, paretopo_paper."""
    weights: list[float] | None = None
    """Static weights for static / gdpo / hv_meta (one per objective; None = uniform), and w0
    for paretopo_paper (None = (0.6, 0.4) with two objectives)."""
    otc_c: float = 1.0
    """OTC smoothing constant c in cos(m*pi/(2m+c))."""
    stage1: Stage1Args = field(default_factory=Stage1Args)
    stage2: Stage2Args = field(default_factory=Stage2Args)

    def __post_init__(self) -> None:
        from lightning_paretopo.methods.catalog import get_method  # it imports the advantages

        get_method(self.name)  # an unknown name fails here, naming method.name and the choices
        self.stage1 = as_args(Stage1Args, self.stage1)
        self.stage2 = as_args(Stage2Args, self.stage2)
