"""A character tokenizer with SmolLM2-135M-Instruct's own chat template: the chat protocol's
rendering (hermes schemas in the system message, since the template drops ``tools=``) without
the model's weights; and ``ScriptedEngine``, a rollout engine that returns hand-built rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lightning_paretopo.types import RolloutBatch, TaskExample, TurnSpan
from tests.rewards.conftest import make_batch
from tests.rollout.conftest import make_char_tokenizer

SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""SmolLM2-135M-Instruct's chat template, as ``make smollm2`` saves it."""
CHAT_ADDED = ("<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>")


@pytest.fixture
def chat_tok():
    tok = make_char_tokenizer(added=CHAT_ADDED, eos="<|im_end|>", bos=False)
    tok.chat_template = SMOLLM2_TEMPLATE
    return tok


def answer_row(text: str, calls: int = 0, truncated: bool = False) -> dict:
    """A ``make_batch`` row: ``calls`` calculator turns (one token each), then ``text`` (two)."""
    turns = [TurnSpan(2 * i, 2 * i + 1, "calculator") for i in range(calls)] + [TurnSpan(10, 12)]
    return {"text": text, "turns": turns, "truncated": truncated}


class ScriptedEngine:
    """A stand-in for ``RolloutEngine``: ``generate`` returns, for each task, the G rows
    ``script(task)`` gives (``tests.rewards.conftest.make_batch`` rows: text, turns, truncated),
    with the tasks recorded on the batch as the engine records them."""

    def __init__(self, script: Callable[[TaskExample], list[dict]]):
        self.script = script
        self.calls = 0

    def generate(self, model, tokenizer, tasks, group_size, generator) -> RolloutBatch:
        self.calls += 1
        rows = [row for task in tasks for row in self.script(task)]
        assert len(rows) == len(tasks) * group_size
        batch = make_batch(rows, group_size)
        batch.tasks = [task for task in tasks for _ in range(group_size)]
        return batch
