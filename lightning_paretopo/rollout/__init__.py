"""Tool-call markup and the batched multi-turn rollout engine.

markup.py    ``TaggedProtocol`` (default: ``<calc>..</calc><result>..</result>``), ``ParsedTurn``
chat.py      ``ChatTemplateProtocol`` (hermes/Qwen ``<tool_call>`` through the chat template)
chat_prompt.py  its system message: does the template render tools=? else the hermes block
sampling.py  one batched, KV-cached policy turn (a group's prompt prefilled once)
stops.py     ``StopMatcher``: stop strings matched on sampled token ids
calls.py     parse a sampled turn, run tool calls; a parser or tool that raises fails its row only
engine.py    ``RolloutEngine``: B tasks x G samples -> ``RolloutBatch``
"""

from lightning_paretopo.rollout.chat import DEFAULT_TOOL_SCHEMAS, ChatTemplateProtocol
from lightning_paretopo.rollout.engine import RolloutEngine
from lightning_paretopo.rollout.markup import (
    CALL_TAGS,
    OBSERVATION_TAGS,
    MarkupProtocol,
    ParsedTurn,
    TaggedProtocol,
)

__all__ = [
    "CALL_TAGS",
    "DEFAULT_TOOL_SCHEMAS",
    "OBSERVATION_TAGS",
    "ChatTemplateProtocol",
    "MarkupProtocol",
    "ParsedTurn",
    "RolloutEngine",
    "TaggedProtocol",
]
