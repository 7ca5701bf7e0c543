"""Adversarial programs against PythonSandbox, in every isolation mode available here.

Each test shows one attack contained (attacks on files, disk space and clean-up are in
``test_sandbox_adversarial_files.py``). Where a mode cannot contain an attack by design (rlimits
mode has no file-system, network or process isolation), the test is a strict xfail for that
mode: it documents the gap and fails loudly if the behaviour ever changes.
"""

import errno
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lightning_paretopo.tools import PythonSandbox, _isolation

TIMEOUT_S = 1.0
ROOMY_S = 5.0  # for tests about something other than time, so a loaded machine cannot fail them
MAX_CHARS = 2000


@pytest.fixture
def sandbox(mode: str) -> PythonSandbox:
    return PythonSandbox(
        timeout_s=TIMEOUT_S, memory_mb=256, max_output_chars=MAX_CHARS, isolation=mode
    )


def test_infinite_loop_returns_within_timeout_plus_1s(sandbox: PythonSandbox) -> None:
    start = time.monotonic()
    result = sandbox("while True:\n    pass\n")
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.error == "timeout"
    assert "TimeoutError" in result.text
    assert TIMEOUT_S <= result.latency_s < TIMEOUT_S + 1.0
    assert elapsed < TIMEOUT_S + 1.0


def test_fork_is_refused(sandbox: PythonSandbox) -> None:
    result = sandbox("import os\nos.fork()\nprint('forked')\n")
    assert not result.ok
    assert result.error == "nonzero_exit"
    assert "forked" not in result.text
    assert result.text.endswith("PermissionError: [Errno 1] Operation not permitted")


def test_fork_bomb_is_contained_and_leaves_no_process(
    sandbox: PythonSandbox, processes_mentioning
) -> None:
    code = (
        "import os, subprocess\n"
        "print(os.getcwd(), flush=True)\n"
        "while True:\n"
        "    for spawn in (os.fork, lambda: subprocess.Popen(['sleep', '60'])):\n"
        "        try:\n"
        "            spawn()\n"
        "        except OSError:\n"
        "            pass\n"
    )
    start = time.monotonic()
    result = sandbox(code)
    assert time.monotonic() - start < TIMEOUT_S + 1.0
    assert result.error == "timeout"
    # Every sandbox process (bwrap, launcher, python, any child) has the work dir in its
    # command line, so this finds leftovers in the session and in the PID namespace alike.
    workdir = result.text.splitlines()[0]
    assert Path(workdir).name.startswith("pysandbox-")
    assert processes_mentioning(workdir) == []
    assert not Path(workdir).exists()


def test_spawned_processes_are_killed_after_the_call(mode: str, processes_mentioning) -> None:
    """With allow_subprocess, children (even in another process group) die with the call."""
    sandbox = PythonSandbox(timeout_s=TIMEOUT_S, allow_subprocess=True, isolation=mode)
    marker = f"59.{uuid.uuid4().int % 10**9}"  # a unique `sleep` argument to look for
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'])\n"
        f"subprocess.Popen(['sleep', '{marker}'], process_group=0)\n"
        "print('spawned')\n"
    )
    result = sandbox(code)
    assert result.ok, result.text
    assert result.text == "spawned\n"
    assert processes_mentioning(marker) == []


def _contained_unless_rlimits_as_root(mode: str, started: int, attempts: int, what: str) -> None:
    """Assert a bomb was stopped; as root, rlimits mode cannot stop it (strict xfail)."""
    if mode == "rlimits" and os.geteuid() == 0:
        assert started == attempts
        pytest.xfail(f"rlimits mode as root: the kernel does not apply RLIMIT_NPROC to {what}")
    assert started < attempts


def test_fork_bomb_with_allow_subprocess_is_contained(mode: str) -> None:
    sandbox = PythonSandbox(
        timeout_s=ROOMY_S, allow_subprocess=True, max_processes=3, isolation=mode
    )
    code = (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(30):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(1.5)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print(n)\n"
    )
    result = sandbox(code)
    assert result.ok, result.text
    _contained_unless_rlimits_as_root(mode, int(result.text), 30, "root's processes")
    assert int(result.text) <= 3


def test_thread_bomb_is_contained(mode: str) -> None:
    sandbox = PythonSandbox(timeout_s=ROOMY_S, max_processes=8, isolation=mode)
    code = (
        "import threading, time\n"
        "threading.stack_size(32768)  # small stacks: the memory limit alone would allow many\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(300):\n"
        "        threading.Thread(target=time.sleep, args=(1,), daemon=True).start()\n"
        "        n += 1\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
        "print(n)\n"
    )
    result = sandbox(code)
    assert result.ok, result.text
    started = int(result.text.split()[-1])
    _contained_unless_rlimits_as_root(mode, started, 300, "root's threads")
    assert started <= 8
    assert result.text.startswith("can't start new thread")


def test_memory_bomb_fails_and_memory_is_bounded(mode: str) -> None:
    # Filling memory costs CPU time (pages are zeroed), so this test gets a roomier deadline.
    sandbox = PythonSandbox(timeout_s=5.0, memory_mb=128, isolation=mode)
    huge = sandbox("x = bytearray(10**10)\n")
    assert not huge.ok
    assert huge.error == "nonzero_exit"
    assert huge.text.endswith("MemoryError")
    assert huge.latency_s < 1.0
    creeping = sandbox("chunks = []\nwhile True:\n    chunks.append(bytearray(10**6))\n")
    assert creeping.error == "nonzero_exit"
    assert creeping.text.endswith("MemoryError")
    probe = sandbox(
        "import resource\n"
        "chunks = []\n"
        "try:\n"
        "    while True:\n"
        "        chunks.append(bytearray(2**20))\n"
        "except MemoryError:\n"
        "    pass\n"
        "print(len(chunks), resource.getrlimit(resource.RLIMIT_AS)[0])\n"
    )
    assert probe.ok, probe.text
    allocated_mib, limit = map(int, probe.text.split())
    assert limit == 128 * 2**20
    assert 50 < allocated_mib < 128  # it really allocated, and stopped below the limit


@pytest.mark.parametrize("allow_subprocess", [False, True])
def test_memory_outside_the_address_space_is_refused(mode: str, allow_subprocess: bool) -> None:
    """memfd and SysV shared memory fill RAM that RLIMIT_AS does not count; fds pin buffers."""
    sandbox = PythonSandbox(
        timeout_s=ROOMY_S, memory_mb=128, allow_subprocess=allow_subprocess, isolation=mode
    )
    code = (
        "import ctypes, os\n"
        "try:\n"
        "    fd = os.memfd_create('m')\n"
        "    os.write(fd, b'x' * 2**20)\n"
        "    print('memfd ok')\n"
        "except OSError as exc:\n"
        "    print('memfd', exc.errno)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('shmget', libc.shmget(0, 2**20, 0o1000 | 0o600), ctypes.get_errno())\n"
        "fds = []\n"
        "try:\n"
        "    while len(fds) < 1000:\n"
        "        fds += os.pipe()\n"
        "except OSError as exc:\n"
        "    print('fds', len(fds), exc.errno)\n"
    )
    result = sandbox(code)
    assert result.ok, result.text
    memfd, shmget, fds = result.text.splitlines()
    assert memfd == f"memfd {errno.EPERM}"
    assert shmget == f"shmget -1 {errno.EPERM}"
    count, err = map(int, fds.split()[1:])
    assert count <= 256 and err == errno.EMFILE


def test_huge_output_is_truncated(sandbox: PythonSandbox) -> None:
    result = sandbox("print('y' * 10**6)\n")
    assert result.ok
    assert result.error == "output_truncated"
    assert result.text.startswith("y" * MAX_CHARS)
    assert len(result.text) <= MAX_CHARS + 30
    endless = sandbox("while True:\n    print('z' * 1000)\n")
    assert endless.error == "timeout"
    assert endless.latency_s < TIMEOUT_S + 1.0
    assert len(endless.text) <= MAX_CHARS + 100


def test_missing_bubblewrap_is_an_error_not_a_fallback(monkeypatch) -> None:
    monkeypatch.setattr(_isolation, "probe_bwrap", lambda python: "bwrap not found on PATH")
    for kwargs in ({}, {"isolation": "auto"}, {"isolation": "bwrap"}):
        with pytest.raises(RuntimeError, match="apt-get install bubblewrap") as info:
            PythonSandbox(**kwargs)
        assert "isolation='rlimits'" in str(info.value)
        assert "bwrap not found on PATH" in str(info.value)
    assert PythonSandbox(isolation="rlimits").isolation == "rlimits"


def test_network_is_unreachable(sandbox: PythonSandbox, mode: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n"
            "    print('CONNECTED')\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__)\n"
        )
        result = sandbox(code)
        server.settimeout(0)
        try:
            server.accept()
            accepted = True
        except BlockingIOError:
            accepted = False
    if mode == "rlimits":
        assert "CONNECTED" in result.text and accepted
        pytest.xfail("rlimits mode cannot block the network")
    assert result.ok, result.text
    assert result.text.startswith("refused")
    assert not accepted


def test_environment_secrets_are_not_inherited(sandbox: PythonSandbox, monkeypatch) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("PARETOPO_TEST_SECRET", secret)
    result = sandbox("import os\nprint(sorted(os.environ.items()))\n")
    assert result.ok, result.text
    assert secret not in result.text
    assert "PARETOPO_TEST_SECRET" not in result.text
    assert "PATH" in result.text


def test_other_processes_environment_is_hidden(sandbox: PythonSandbox, mode: str) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    holder = subprocess.Popen(["sleep", "30"], env={**os.environ, "PARETOPO_TEST_SECRET": secret})
    code = (
        "import os\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        f"        if b'{secret}' in open(f'/proc/{{pid}}/environ', 'rb').read():\n"
        "            print('FOUND', pid)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('done')\n"
    )
    try:
        result = sandbox(code)
    finally:
        holder.kill()
        holder.wait()
    assert result.ok, result.text
    if mode == "rlimits":
        assert "FOUND" in result.text
        pytest.xfail("rlimits mode can read /proc/<pid>/environ of processes of the same uid")
    assert result.text == "done\n"


def test_interpreter_is_isolated(sandbox: PythonSandbox) -> None:
    """-I -S: no site-packages, so nothing outside the stdlib is importable."""
    result = sandbox("import sys\nprint(sys.flags.isolated, sys.flags.no_site)\nimport torch\n")
    assert not result.ok
    assert result.text.startswith("1 1")
    assert "ModuleNotFoundError" in result.text
