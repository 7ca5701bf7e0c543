"""``StopMatcher``: stop strings found in a stream of sampled token ids.

Contract: each sampled id is decoded alone once (cached) and matched against a short rolling
text tail per row (the longest stop string's length minus one). This is exact for stop strings
made of whole characters (ASCII tags), also when a stop string spans several tokens or ends
inside one. Deliberately not done: stop strings that a tokenizer only renders across token
boundaries with merged bytes (non-ASCII pieces split mid-character).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StopMatcher:
    """Finds stop strings in a stream of token ids, decoding each id alone (cached)."""

    def __init__(self, tokenizer: Any, stop_strings: Sequence[str]) -> None:
        if any(not s for s in stop_strings):
            raise ValueError("stop_strings must be non-empty strings")
        self.tokenizer = tokenizer
        self.stop_strings = list(stop_strings)
        self._keep = max((len(s) for s in self.stop_strings), default=1) - 1
        self._last_chars = {s[-1] for s in self.stop_strings}
        self._pieces: dict[int, tuple[str, bool]] = {}

    def piece(self, token_id: int) -> tuple[str, bool]:
        """(text of one token id, special tokens included; whether it may end a stop string)."""
        entry = self._pieces.get(token_id)
        if entry is None:
            text = self.tokenizer.decode([token_id], skip_special_tokens=False)
            entry = (text, any(c in text for c in self._last_chars))
            self._pieces[token_id] = entry
        return entry

    def push(self, tail: str, token_id: int) -> tuple[str, bool]:
        """Add a token to a row's tail; return (new tail, whether a stop string completed)."""
        piece, may_end = self.piece(token_id)
        text = tail + piece
        hit = may_end and any(s in text for s in self.stop_strings)
        return (text[-self._keep :] if self._keep else ""), hit
