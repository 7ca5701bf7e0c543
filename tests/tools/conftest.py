"""Fixtures for the tools tests: the sandbox isolation modes that work on this machine."""

import os
import sys
from pathlib import Path

import pytest

from lightning_paretopo.tools._isolation import probe_bwrap


@pytest.fixture(params=["rlimits", "bwrap"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each isolation mode; bwrap is skipped (with the probe's reason) where it is unusable."""
    why_not = (
        probe_bwrap(os.path.realpath(sys.executable)) if request.param == "bwrap" else None
    )  # cached
    if why_not is not None:
        pytest.skip(f"bubblewrap unusable here: {why_not}")
    return request.param


@pytest.fixture
def best_mode() -> str:
    """bubblewrap where it works here, else rlimits (for tests about something else)."""
    return "bwrap" if probe_bwrap(os.path.realpath(sys.executable)) is None else "rlimits"


@pytest.fixture
def processes_mentioning():
    """``f(marker)``: live (non-zombie) processes whose command line contains ``marker``."""
    return _processes_mentioning


def _processes_mentioning(marker: str) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state != "Z":
            found.append((int(entry.name), cmdline[:200]))
    return found
