"""RunState: one owner of the stage, w* and the training history; checkpoints round-trip, and a
checkpoint from before it (history in the callbacks' states) still resumes."""

from __future__ import annotations

import torch

from lightning_paretopo.args import Stage1Args
from lightning_paretopo.run_state import RunState, legacy_train_history


def test_switch_once_and_record_each_step_once() -> None:
    run = RunState(2, Stage1Args(), start_stage=1)
    assert run.record_train(0, torch.tensor([0.5, 0.5]))
    assert not run.record_train(0, torch.tensor([0.9, 0.1]))  # a step is recorded once
    assert run.switch(3, torch.tensor([0.7, 0.3], dtype=torch.float64))
    assert not run.switch(5, torch.tensor([0.1, 0.9], dtype=torch.float64))  # once
    assert (run.stage, run.switch_step, run.frozen_weights.tolist()) == (2, 3, [0.7, 0.3])
    assert run.train_history == [{"step": 0, "hv": 0.0, "weights": [0.5, 0.5]}]


def test_state_round_trips() -> None:
    run = RunState(2, Stage1Args(), start_stage=1)
    run.hv_weights.step(torch.tensor([0.4, 0.5], dtype=torch.float64))
    run.record_train(1, run.hv_weights.weights)
    run.switch(1, run.hv_weights.weights)
    copy = RunState(2, Stage1Args(), start_stage=1)
    copy.load_state_dict(run.state_dict())
    assert copy.state_dict()["train_history"] == run.state_dict()["train_history"]
    assert (copy.stage, copy.switch_step) == (2, 1)
    assert torch.equal(copy.frozen_weights, run.frozen_weights)
    assert copy.hv_weights.hypervolume == run.hv_weights.hypervolume == 0.2


def test_legacy_checkpoint_history_from_the_callbacks() -> None:
    # StageSwitch kept {step: hv} from step 0 while in stage 1; FrontLogger kept every step
    # from 1 with its weights. Step 0 takes the weights of the nearest later record.
    switch = {"hv_history": [[0, 0.0], [1, 0.1], [2, 0.2]], "switch_step": None}
    fronts = {"train_history": [{"step": s, "hv": 0.1 * s, "weights": [s, 1]} for s in (1, 2, 3)]}
    history = legacy_train_history([switch, fronts])
    assert [r["step"] for r in history] == [0, 1, 2, 3]
    assert [r["weights"] for r in history] == [[1, 1], [1, 1], [2, 1], [3, 1]]
    run = RunState(2, Stage1Args(), start_stage=1)
    state = run.state_dict()
    del state["train_history"]
    run.load_state_dict(state, legacy_callbacks=[switch, fronts])
    assert run.train_history == history
