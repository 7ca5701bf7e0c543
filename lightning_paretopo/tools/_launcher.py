"""The first code that runs inside the python sandbox (stdlib only, run as ``python -I -S -c``).

Contract: ``argv = [-c, SPEC_JSON, SCRIPT]``. In this order it: asks for SIGKILL when its parent
dies, if ``SPEC["parent_pid"]`` is set (rlimits mode: the parent is the trainer's thread, which
waits for the call); sets the resource limits named in ``SPEC["rlimits"]`` (soft = hard, except
CPU whose hard limit is one second above the soft one so SIGXCPU comes first); drops to
``SPEC["uid"]`` (uid and gid, no supplementary groups) when it is set, which bubblewrap's
privileged variant does when the caller is root, and checks that root cannot be regained; caps
RLIMIT_NPROC at ``SPEC["max_processes"]`` tasks (processes and threads) above the ones its uid
already has (counted in this process's ``/proc``, which under bubblewrap only shows the sandbox);
sets no_new_privs (so set-uid programs cannot raise privileges); if ``SPEC["seccomp"]``,
installs a seccomp filter that refuses memory that RLIMIT_AS does not count (``memfd_create``,
SysV ``shmget``, ``memfd_secret``) and, if ``SPEC["no_fork"]``, creating processes (threads
stay allowed); and then ``exec``s
``python -I -S -u SCRIPT``. Any failure here exits with status 125 and one line on stderr, so
the parent can tell a broken sandbox from a failing model program.

Deliberately not done: parsing or running the model's code itself (that happens after exec in a
fresh interpreter, so its traceback and ``__main__`` are clean).
"""

import ctypes
import json
import os
import platform
import resource
import signal
import struct
import sys

SETUP_FAILED = 125

# seccomp / BPF constants (linux/filter.h, linux/seccomp.h, linux/audit.h).
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_EPERM, _ENOSYS, _CLONE_THREAD = 1, 38, 0x00010000
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
# arch -> (AUDIT_ARCH value, fork-like syscalls, clone, clone3, syscalls that take RAM outside
# RLIMIT_AS and every tmpfs cap: memfd_create, shmget (SysV shared memory), memfd_secret)
_ARCHES = {
    "x86_64": (0xC000003E, (57, 58), 56, 435, (319, 29, 447)),  # fork, vfork
    "aarch64": (0xC00000B7, (), 220, 435, (279, 194, 447)),
}


def _filter_program(machine: str, no_fork: bool) -> list[tuple[int, int, int, int]]:
    """A BPF program: EPERM for memfd_create/shmget/memfd_secret and, with ``no_fork``, for
    fork/vfork/clone-without-CLONE_THREAD (clone3: ENOSYS).

    clone3 gets ENOSYS because its flags live behind a pointer; glibc then falls back to clone,
    whose flags the filter can read, so threads keep working.
    """
    arch, forks, clone, clone3, unaccounted = _ARCHES[machine]
    # (code, jt, jf, k) with jt/jf as label names resolved below.
    prog: list[tuple[int, object, object, int]] = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "kill", arch),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        prog.append((_JGE, "eperm", 0, 0x40000000))  # the x32 ABI
    prog += [(_JEQ, "eperm", 0, nr) for nr in unaccounted]
    if no_fork:
        prog += [(_JEQ, "eperm", 0, nr) for nr in forks]
        prog += [
            (_JEQ, "enosys", 0, clone3),
            (_JEQ, 0, "allow", clone),
            (_LD_W_ABS, 0, 0, 16),  # low 32 bits of args[0] (little endian): the clone flags
            (_JSET, "allow", "eperm", _CLONE_THREAD),
        ]
    # Falling off the end reaches the first return below: "allow".
    labels = {"allow": _ALLOW, "eperm": _ERRNO | _EPERM, "enosys": _ERRNO | _ENOSYS, "kill": _KILL}
    ret_at = {name: len(prog) + i for i, name in enumerate(labels)}
    prog += [(_RET, 0, 0, value) for value in labels.values()]

    def offset(target: object, pc: int) -> int:
        return target if isinstance(target, int) else ret_at[target] - pc - 1

    return [(c, offset(jt, pc), offset(jf, pc), k) for pc, (c, jt, jf, k) in enumerate(prog)]


def _install_filter(no_fork: bool) -> None:
    machine = platform.machine().lower().replace("amd64", "x86_64").replace("arm64", "aarch64")
    if machine not in _ARCHES:
        raise OSError(f"no seccomp filter for architecture {machine!r}")
    program = _filter_program(machine, no_fork)
    raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class _Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Fprog(len(program), ctypes.addressof(buf))
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog))


def _prctl(option: int, arg: object, arg3: object = 0) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    value = arg if not isinstance(arg, int) else ctypes.c_ulong(arg)
    if libc.prctl(option, value, arg3, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process (and, after exec, the program) when the parent thread exits."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        raise OSError(f"parent {parent_pid} is gone")


def _drop_to(uid: int) -> None:
    """Become ``uid`` (and gid ``uid``) for good: no groups, no capabilities, no way back."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise OSError(f"could still regain root after dropping to uid {uid}")


def _tasks_of_uid(uid: int) -> int:
    """Tasks (threads count, as for RLIMIT_NPROC) of ``uid`` visible in /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def main(argv: list[str]) -> None:
    spec, script = json.loads(argv[1]), argv[2]
    if spec.get("parent_pid") is not None:
        _die_with_parent(spec["parent_pid"])
    for name, value in spec["rlimits"].items():
        hard = value + 1 if name == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, name), (value, hard))
    if spec.get("uid") is not None:
        _drop_to(spec["uid"])
    limit = _tasks_of_uid(os.getuid()) + spec["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if spec["seccomp"]:
        _install_filter(spec["no_fork"])
    os.execv(sys.executable, [sys.executable, "-I", "-S", "-u", script])


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Exception as exc:  # any setup failure must become exit status 125
        sys.stderr.write(f"sandbox setup failed: {type(exc).__name__}: {exc}\n")
        sys.exit(SETUP_FAILED)
