"""PythonSandbox: results, error texts, configuration and mode selection."""

import logging
import os
import tempfile
import threading

import pytest

from lightning_paretopo.tools import PythonSandbox, Tool, _isolation
from lightning_paretopo.tools.sandbox import strip_code_fence


@pytest.fixture
def sandbox(mode: str) -> PythonSandbox:
    return PythonSandbox(timeout_s=2.0, max_output_chars=200, isolation=mode)


def test_runs_code_and_returns_stdout(sandbox: PythonSandbox) -> None:
    result = sandbox("x = 6 * 7\nprint(x)\nprint('é ∑')\n")
    assert result == type(result)(ok=True, text="42\né ∑\n", error=None, latency_s=result.latency_s)
    assert 0 < result.latency_s < 2.0


def test_traceback_tail_on_error(sandbox: PythonSandbox) -> None:
    result = sandbox("print('before')\n{}['missing']\n")
    assert not result.ok
    assert result.error == "nonzero_exit"
    assert result.text.startswith("before\n")
    assert result.text.endswith("KeyError: 'missing'")
    assert "Traceback (most recent call last)" in result.text


def test_exit_status_and_signals(sandbox: PythonSandbox) -> None:
    assert sandbox("import sys\nsys.exit(3)\n").text == "Error: exited with status 3"
    killed = sandbox("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    assert killed.error == "nonzero_exit"
    assert killed.text == "Error: killed by signal 15"


def test_stdin_is_closed_and_threads_work(sandbox: PythonSandbox) -> None:
    code = (
        "import sys, threading\n"
        "print(repr(sys.stdin.read()))\n"
        "t = threading.Thread(target=print, args=('from thread',))\n"
        "t.start()\n"
        "t.join()\n"
    )
    assert sandbox(code).text == "''\nfrom thread\n"


def test_truncated_stdout_on_error_keeps_the_traceback(sandbox: PythonSandbox) -> None:
    result = sandbox("print('a' * 1000)\nraise ValueError('boom')\n")
    assert result.error == "nonzero_exit"
    assert result.text.endswith("ValueError: boom")
    assert "[output truncated]" in result.text
    assert len(result.text) <= 200 + 30


def test_empty_code(sandbox: PythonSandbox) -> None:
    result = sandbox("   \n")
    assert (result.ok, result.error) == (False, "empty_code")


def test_code_fence_is_stripped(sandbox: PythonSandbox) -> None:
    assert sandbox("```python\nprint(1 + 1)\n```").text == "2\n"


def test_strip_code_fence() -> None:
    assert strip_code_fence("```python\nprint(1)\n```") == "print(1)\n"
    assert strip_code_fence("```\nprint(1)") == "print(1)"
    assert strip_code_fence("print('```')") == "print('```')"


def test_concurrent_calls_are_independent(sandbox: PythonSandbox) -> None:
    results = [None] * 4

    def run(i: int) -> None:
        results[i] = sandbox(f"open('f.txt', 'w').write('{i}')\nprint(open('f.txt').read())\n")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.text for r in results] == ["0\n", "1\n", "2\n", "3\n"]


def test_is_a_tool() -> None:
    sandbox = PythonSandbox(isolation="rlimits")
    assert isinstance(sandbox, Tool)
    assert sandbox.name == "python"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout_s": 0}, "timeout_s"),
        ({"memory_mb": -1}, "memory_mb"),
        ({"max_output_chars": 0}, "max_output_chars"),
        ({"cpu_time_s": 0}, "cpu_time_s"),
        ({"max_disk_mb": 0}, "max_disk_mb"),
        ({"max_processes": 0}, "max_processes"),
        ({"isolation": "docker"}, "isolation"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PythonSandbox(**kwargs)


def test_without_bwrap_construction_raises_unless_rlimits_is_chosen(
    monkeypatch, tmp_path, caplog
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty dir: no bwrap on PATH
    monkeypatch.setattr(_isolation, "_warned", set())
    for isolation in ("bwrap", "auto"):
        with pytest.raises(RuntimeError, match="bwrap not found on PATH") as info:
            PythonSandbox(isolation=isolation)
        assert "apt-get install bubblewrap" in str(info.value)
        assert "isolation='rlimits'" in str(info.value)
    with pytest.raises(RuntimeError, match="apt-get install bubblewrap"):
        PythonSandbox()  # the default is bubblewrap
    with caplog.at_level(logging.WARNING, logger=_isolation.__name__):
        assert PythonSandbox(isolation="rlimits").isolation == "rlimits"
        assert PythonSandbox(isolation="rlimits").isolation == "rlimits"
    warnings = [r.getMessage() for r in caplog.records if "isolation='rlimits'" in r.getMessage()]
    assert len(warnings) == 1
    assert "read and write any file" in warnings[0]


def test_default_and_auto_are_bwrap_where_it_works() -> None:
    why_not = _isolation.probe_bwrap(PythonSandbox(isolation="rlimits").python)
    if why_not is not None:
        pytest.skip(f"bubblewrap unusable here: {why_not}")
    assert PythonSandbox().isolation == "bwrap"
    assert PythonSandbox(isolation="auto").isolation == "bwrap"


def test_long_stderr_keeps_the_traceback(sandbox: PythonSandbox) -> None:
    code = "import sys\nsys.stderr.write('noise ' * 100000)\nraise KeyError('last words')\n"
    result = sandbox(code)
    assert result.error == "nonzero_exit"
    assert result.text.endswith("KeyError: 'last words'")


def test_a_planted_work_root_is_refused(monkeypatch, tmp_path) -> None:
    """A link (or another user's dir) at the work dir root could redirect the sweep's rmtree."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / f"paretopo-sandbox-{os.geteuid()}").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RuntimeError, match="mode 0700"):
        PythonSandbox(isolation="rlimits")
