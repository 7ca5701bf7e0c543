"""benchmarks/tiers.py: the per-tier evaluation of a config's policy or of a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import benchmarks.tiers
from benchmarks.tiers import (
    calls_table,
    evaluate,
    load_checkpoint_policy,
    parse_args,
    point_hypervolume,
    tool_budget,
)
from lightning_paretopo.policy.loading import load_policy
from lightning_paretopo.rewards import Accuracy, Format, RewardHeads, ToolEfficiency
from lightning_paretopo.warmstart.evaluate import Sample
from tests.warmstart.conftest import ScriptedEngine, answer_row

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_thread")


def small_config(tmp_path: Path, policy: Path, objectives: dict | None = None) -> Path:
    """The quickstart with the tiny random policy, short turns and a private data dir (and
    ``objectives`` for the config's reward heads when given)."""
    config = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())
    model = config["model"]["init_args"]
    if objectives is not None:
        model["objectives"] = objectives
    model["policy"] = {"name_or_path": str(policy)}
    model["rollout"] |= {"max_turns": 2, "max_new_tokens": 8, "max_total_tokens": 64}
    config["data"]["init_args"]["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_calls_table_groups_by_tier_and_calls_with_3_plus_pooled() -> None:
    samples = [Sample("hard", 1, 1.0, True), Sample("hard", 1, 0.0, True)]
    samples += [Sample("hard", 4, 0.0, True), Sample("easy", 0, 1.0, True)]
    samples += [Sample("easy", 0, 0.5, True)]  # an F1-mode accuracy: averaged as it is
    assert calls_table(samples).splitlines()[2:] == [
        "| easy | 0 | 2 | 0.750 |",
        "| hard | 1 | 2 | 0.500 |",
        "| hard | 3+ | 1 | 0.000 |",
    ]


def test_point_hypervolume_is_accuracy_times_capped_efficiency() -> None:
    samples = [Sample("hard", 1, 1.0, True), Sample("hard", 6, 0.0, True)]
    # accuracy 1/2; efficiency (1 - 1/4 + 1 - 4/4) / 2 = 3/8 (6 calls capped at the budget 4)
    assert point_hypervolume(samples, budget=4) == pytest.approx(0.5 * 0.375)


def test_tool_budget_reads_the_heads_and_refuses_heads_without_one() -> None:
    assert tool_budget(RewardHeads([Accuracy(), ToolEfficiency(budget=3)])) == 3
    with pytest.raises(ValueError, match="no ToolEfficiency head"):
        tool_budget(RewardHeads([Accuracy(), Format()]))


def test_evaluate_reports_every_sample_of_the_split(tiny_policy: Path, tmp_path: Path) -> None:
    config = small_config(tmp_path, tiny_policy)
    args = parse_args(["--config", str(config), "--size", "6", "--samples", "2"])
    report = evaluate(args)
    assert report.startswith(f"{tiny_policy}: 6 val tasks x 2 samples (T=1)")
    tier_rows = [ln for ln in report.splitlines() if ln.startswith("| all |")]
    assert tier_rows and tier_rows[0].split("|")[2].strip() == "12"  # 6 tasks x 2 samples
    lines = report.splitlines()
    start = lines.index("| tier | calls | n | accuracy |") + 2  # after the separator
    counts = [int(ln.split("|")[3]) for ln in lines[start:] if ln.startswith("|")]
    assert sum(counts) == 12
    assert "accuracy 0.000" in report  # a random policy answers nothing right
    assert report.rstrip().endswith("HV 0.000")


def test_checkpoint_weights_replace_the_policy_and_must_be_present(
    tiny_policy: Path, tmp_path: Path
) -> None:
    policy, _ = load_policy(str(tiny_policy))
    state = {f"policy.{k}": torch.zeros_like(v) for k, v in policy.state_dict().items()}
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": state | {"hv_weights.w": torch.ones(2)}}, ckpt)
    load_checkpoint_policy(policy, ckpt)
    assert all(bool((p == 0).all()) for p in policy.parameters())
    torch.save({"state_dict": {"other.weight": torch.ones(1)}}, ckpt)
    with pytest.raises(ValueError, match="no 'policy.\\*' weights"):
        load_checkpoint_policy(policy, ckpt)


def test_an_adapter_only_checkpoint_loads_onto_the_configured_base(
    tiny_policy: Path, tmp_path: Path
) -> None:
    lora = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    policy, _ = load_policy(str(tiny_policy), lora=lora)
    base = {k: v.clone() for k, v in policy.state_dict().items() if ".lora_" not in k}
    adapters = {k: torch.full_like(v, 0.5) for k, v in policy.state_dict().items() if ".lora_" in k}
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {f"policy.{k}": v for k, v in adapters.items()}}, ckpt)
    load_checkpoint_policy(policy, ckpt)
    after = policy.state_dict()
    assert all(torch.equal(after[k], v) for k, v in adapters.items())
    assert all(torch.equal(after[k], v) for k, v in base.items())  # the base is untouched
    bad = {f"policy.{k}": v for k, v in list(adapters.items())[1:]}  # one adapter missing
    torch.save({"state_dict": bad}, ckpt)
    with pytest.raises(ValueError, match="lacks 1 trainable weights"):
        load_checkpoint_policy(policy, ckpt)


def _heads(formats: list[str]) -> dict:
    """Reward heads in config form: Accuracy in ``formats``; the ToolEfficiency budget is
    interpolated (``${...}``: the rollout's max_turns, 2), which the training parser resolves."""
    return {
        "class_path": "lightning_paretopo.rewards.RewardHeads",
        "init_args": {
            "heads": [
                {"class_path": "lightning_paretopo.rewards.Accuracy",
                 "init_args": {"answer_formats": formats}},
                {"class_path": "lightning_paretopo.rewards.ToolEfficiency",
                 "init_args": {"budget": "${model.init_args.rollout.max_turns}"}},
            ]
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("formats", "accuracy", "hv"),
    [(["answer_is"], "1.000", "0.500"), (["answer_tag"], "0.000", "0.000")],
)
def test_evaluate_scores_with_the_configs_reward_heads(
    tiny_policy: Path, tmp_path: Path, monkeypatch, formats, accuracy, hv
) -> None:
    """Every rollout calls the calculator once and says "The answer is <gold>": right under the
    config's ``Accuracy(answer_formats=[answer_is])``, wrong under ``[answer_tag]``; HV =
    accuracy x (1 - 1/2) with the interpolated budget 2."""
    built = {}

    def scripted(rollout_args, tokenizer, tools, policy_dir=None):
        built["tools"] = sorted(tools)
        return ScriptedEngine(lambda task: [answer_row(f"The answer is {task.answer}", calls=1)])

    monkeypatch.setattr(benchmarks.tiers, "build_engine", scripted)
    config = small_config(tmp_path, tiny_policy, _heads(formats))
    report = evaluate(parse_args(["--config", str(config), "--size", "3", "--samples", "1"]))
    assert built["tools"] == ["calculator"]  # the DataModule's tools (select_tools)
    all_row = next(ln for ln in report.splitlines() if ln.startswith("| all |"))
    assert all_row.split("|")[-2].strip() == accuracy  # the tier table's accuracy column
    well_formed = all_row.split("|")[-3].strip()
    assert well_formed == accuracy  # Format reads the same formats as Accuracy
    assert report.rstrip().endswith(f"accuracy {accuracy}  tool calls 1.000  HV {hv}")
