"""DDP on CPU, end to end: ``python train.py fit`` on 2 processes (gloo) of the tiny quickstart.

Four launches of the real CLI (``--trainer.strategy=ddp --trainer.devices=2``): a whole run of
6 steps, a run stopped after 4 steps then resumed from its ``last.ckpt`` to 6, and ``test`` of
the whole run's checkpoint. A probe
callback (``tests/ddp_probe.py``) writes what each rank saw. Checked:

- groups stay on their rank: at every step the ranks hold disjoint prompts, and each rank's
  rollout batch is its own B prompts x G rows, each group's rows on one prompt;
- validation and test points are gathered: both ranks log the same val/* (and, in a 2-process
  ``train.py test`` of the final checkpoint, test/*) metrics, those of both ranks' evaluation
  sums added up; the run's own test points (``summary.json``, rank 0) cover the whole test set;
- the stage switch happens on every rank at the same step, from the same archive HV (the batch
  point is the mean over both ranks' rows);
- the checkpoint resumes exactly under 2 processes: the resumed run's last checkpoint equals
  the whole run's (weights, optimizer, ParetoPO state with both ranks' RNG, data position,
  callbacks), and after the resume each rank samples what it sampled in the whole run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_paretopo.evaluation import EvalAccumulator
from tests.helpers import subprocess_env, tiny_quickstart
from tests.module.test_resume import assert_same
from tests.test_crash_resume import _state

REPO = Path(__file__).resolve().parents[1]
STEPS, STOP, B, G, TEST_TASKS = 6, 4, 2, 2, 4
SWITCH = {"min_stage1_steps": 3, "patience": 1, "min_delta": 0.05, "max_stage1_steps": 5}


def _overlay(path: Path, out: Path, launch: str) -> Path:
    """Two processes; a switch due within 3..5 steps; objectives a random policy moves (tool
    efficiency and brevity: rows that sample EOS early are shorter), so that each rank's own
    batch point differs and the HV is not 0."""
    callbacks = [
        {"class_path": "lightning_paretopo.callbacks.LastCheckpoint"},
        {"class_path": "lightning_paretopo.callbacks.StageSwitch", "init_args": SWITCH},
        {"class_path": "lightning_paretopo.callbacks.RunSummary"},
        {
            "class_path": "tests.ddp_probe.DDPProbe",
            "init_args": {"out": str(out), "launch": launch},
        },
    ]
    trainer = {"strategy": "ddp", "devices": 2, "callbacks": callbacks}
    heads = [
        {"class_path": "lightning_paretopo.rewards.ToolEfficiency", "init_args": {"budget": 4}},
        {"class_path": "lightning_paretopo.rewards.Brevity", "init_args": {"max_tokens": 32}},
    ]
    objectives = {"class_path": "lightning_paretopo.rewards.RewardHeads"}
    objectives["init_args"] = {"heads": heads}
    model = {"objectives": objectives, "method": {"stage2": {"dominance": "pareto"}}}
    path.write_text(json.dumps({"trainer": trainer, "model": {"init_args": model}}))  # YAML
    return path


def _run(policy: Path, cwd: Path, launch: str, max_steps: int, *extra: str, cmd="fit") -> None:
    overlay = _overlay(cwd / f"{launch}.yaml", cwd, launch)
    args = tiny_quickstart(max_steps, train_size=64, eval_size=TEST_TASKS, test_samples=1)
    cmd = [sys.executable, str(REPO / "train.py"), cmd,
           "--config", str(REPO / "configs" / "quickstart.yaml"), "--config", str(overlay),
           f"--model.init_args.policy.name_or_path={policy}", *args,
           f"--trainer.max_steps={max_steps}", "--experiment=ddp", *extra]  # fmt: skip
    env = subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    (cwd / f"{launch}.log").write_text(out.stdout + out.stderr)
    assert out.returncode == 0, out.stderr[-4000:]


def _probe(cwd: Path, launch: str) -> list[dict[str, Any]]:
    return [json.loads((cwd / f"rank{r}-{launch}.json").read_text()) for r in (0, 1)]


def _check_groups_stay_on_their_rank(ranks: list[dict[str, Any]]) -> None:
    for r0, r1 in zip(ranks[0]["rollouts"], ranks[1]["rollouts"], strict=True):
        assert r0["step"] == r1["step"]
        assert len(r0["tasks"]) == len(r1["tasks"]) == B and set(r0["tasks"]).isdisjoint(
            r1["tasks"]
        )
        for r in (r0, r1):
            assert r["group_size"] == G and r["rows"] == B * G and r["groups_whole"]


def _check_gathered(ranks: list[dict[str, Any]], key: str, prefix: str) -> None:
    """Both ranks log the metrics of both ranks' sums; each rank evaluated half the tasks."""
    acc = EvalAccumulator(["tool_efficiency", "brevity"], accuracy_index=None)
    for v0, v1 in zip(ranks[0][key], ranks[1][key], strict=True):
        assert json.dumps(v0["metrics"]) == json.dumps(v1["metrics"])  # NaN accuracy included
        mine, theirs = torch.tensor(v0["local_sums"]), torch.tensor(v1["local_sums"])
        both = acc.summarize(mine + theirs)
        assert acc.summarize(mine)["n"] == TEST_TASKS // 2 and both["n"] == TEST_TASKS
        assert v0["metrics"][f"{prefix}/tool_calls"] == pytest.approx(both["tool_calls"])


def _check_switch_on_every_rank(ranks: list[dict[str, Any]]) -> int:
    mean = [[sum(r["sampled"]) for r in rank["rollouts"]] for rank in ranks]
    assert mean[0] != mean[1]  # the ranks' own batch points differ at some step, yet
    s0, s1 = ranks[0]["steps"], ranks[1]["steps"]
    assert s0 == s1  # stage, switch step, archive HV and weights after every step agree
    switch = s0[-1]["switch_step"]
    assert switch is not None and 3 <= switch <= 5 and s0[-1]["stage"] == 2
    return switch


@pytest.mark.slow
def test_two_process_fit_gathers_switches_together_and_resumes_exactly(
    tiny_policy: Path, tmp_path: Path
) -> None:
    (tmp_path / "w").mkdir(), (tmp_path / "r").mkdir()
    _run(tiny_policy, tmp_path / "w", "whole", STEPS)
    whole = _probe(tmp_path / "w", "whole")
    assert [w["world_size"] for w in whole] == [2, 2] and whole[0]["pid"] != whole[1]["pid"]
    _check_groups_stay_on_their_rank(whole)
    assert [v["step"] for v in whole[0]["validations"]] == [2, 4, 6]
    _check_gathered(whole, "validations", "val")
    switch = _check_switch_on_every_rank(whole)
    run = tmp_path / "w" / "logs" / "ddp" / "paretopo-s0"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["final"]["n"] == summary["start"]["n"] == TEST_TASKS  # the whole test set

    _run(tiny_policy, tmp_path / "r", "first", STOP)
    _run(tiny_policy, tmp_path / "r", "resumed", STEPS, "--ckpt_path=last")
    resumed_run = tmp_path / "r" / "logs" / "ddp" / "paretopo-s0"
    final = _state(resumed_run / "checkpoints" / "last.ckpt")
    assert final["global_step"] == STEPS and final["paretopo"]["switch_step"] == switch
    assert final["paretopo"]["generator"][1].shape[0] == 2  # both ranks' RNG states
    assert_same(_state(run / "checkpoints" / "last.ckpt"), final, "checkpoint")
    resumed = _probe(tmp_path / "r", "resumed")
    for rank in (0, 1):  # each rank's rollouts after the resume are the whole run's
        after = resumed[rank]["rollouts"]
        assert [r["step"] for r in after] == list(range(STOP, STEPS))
        assert after == whole[rank]["rollouts"][STOP:]
        assert resumed[rank]["steps"] == whole[rank]["steps"][STOP:]

    last = str(run / "checkpoints" / "last.ckpt")
    _run(tiny_policy, tmp_path / "w", "test", STEPS, f"--ckpt_path={last}", cmd="test")
    tested = _probe(tmp_path / "w", "test")
    assert len(tested[0]["tests"]) == 1 and not tested[0]["rollouts"]
    _check_gathered(tested, "tests", "test")
