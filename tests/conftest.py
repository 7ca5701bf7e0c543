"""Suite-wide settings: CPU only, offline W&B, deterministic seeds, hypothesis without deadlines."""

import os

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

from lightning_paretopo.policy.tiny import save_tiny_policy  # noqa: E402

# Timing on a shared 2-core CI machine is noisy: property tests must never fail on time.
settings.register_profile("repo", deadline=None, print_blob=True)
settings.load_profile("repo")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> Iterator[None]:
    """Seed 0; and torch's threads as they were, since the CLI sets them (``threads.py``)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data() -> Path:
    """The real public data beside the repo (../shared/data); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


TINY_POLICY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
"""tiny_llama_config overrides of the stand-in policy (``tiny_policy``)."""


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread: the matrices are tiny, and on a shared 2-core machine a second
    OpenMP thread mostly waits for a core (measured: 25 s vs 11 s for one test). Modules opt in
    with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama + character tokenizer saved in HF format (loadable by path)."""
    return save_tiny_policy(tmp_path_factory.mktemp("policy") / "tiny", seed=0, **TINY_POLICY)
