"""A character tokenizer with SmolLM2-135M-Instruct's own chat template: the chat protocol's
rendering (hermes schemas in the system message, since the template drops ``tools=``) without
the model's weights."""

from __future__ import annotations

import pytest

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
