"""The one runner of child processes: time and memory limits, no network, CPU and wall time.

Every program irpipe starts (LLVM and IREE tools, build steps, fetchers, measured and benchmark
programs, valgrind, the isolated LLVM worker, the test drivers) starts here, and
``tests/runtime/test_process.py`` fails if another module imports :mod:`subprocess`.

* :func:`run` runs a command to its end.  Captured output goes through temporary files (a
  child that floods its output cannot deadlock, and a killed child's output is still there);
  the CPU time is the child's own user+sys (``wait4``), the wall time is measured around it;
  past ``timeout`` the child's whole process group is killed.
* :func:`start` starts a long-lived or streaming child: a :class:`Child`.

Every child runs in its own session (its own process group, so a kill reaches whatever it
started).  Limits are applied without ``preexec_fn`` (not safe in a threaded process such as a
Ray worker): the address space and CPU seconds through ``prlimit`` and no network through ``unshare -n``
(``unshare -rn``, a user namespace, when not root), both from util-linux; each execs the
command, so its exit status and CPU time are the command's own.  Errors are
:class:`~irpipe.errors.ToolError` subclasses whose message ends with the stderr tail.

    USAGE: done = run(["opt-22", "-S", "a.ll"], what="opt-22", timeout=60); done.stdout, done.cpu_s
"""

from __future__ import annotations

import math
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any, Mapping, Sequence, Union

from irpipe.errors import ToolError, ToolFailed, ToolNotFound, ToolTimeout

#: Where a stream goes: captured (PIPE), nowhere (DEVNULL), into stdout (STDOUT, stderr only),
#: an open file, or a path (opened for writing; for stdin, for reading).
PIPE, DEVNULL, STDOUT = subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT
Stream = Union[int, IO[Any], str, "os.PathLike[str]", None]


def tail(text: str | bytes, lines: int = 20) -> str:
    """The last ``lines`` lines of ``text`` (bytes decoded leniently)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass(frozen=True)
class Finished:
    """A child that ran to its end (or was killed at its time limit).

    ``returncode`` is negative when a signal ended it; ``stdout``/``stderr`` hold what was
    captured (empty when a stream went elsewhere; ``str`` with ``text=True``); ``cpu_s`` is
    the child's user+sys CPU seconds, ``wall_s`` its wall seconds; ``timed_out`` is only ever
    true with ``raise_timeout=False``.
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: Any = b""
    stderr: Any = b""
    cpu_s: float = 0.0
    wall_s: float = 0.0
    timed_out: bool = False


def limited(argv: Sequence[str | os.PathLike[str]], *, memory_mb: int | None = None,
            network: bool = True, cpu_limit_s: float | None = None,
            cpus: Sequence[int] | None = None) -> list[str]:
    """``argv`` behind the wrappers that apply the limits (``taskset``, ``unshare``, then
    ``prlimit``; each execs the next, so the process is still the one started): only the CPUs
    ``cpus`` (a timed run pinned to one core), ``memory_mb`` of address space, ``cpu_limit_s``
    seconds of CPU (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later), no network."""
    prefix: list[str] = []
    if cpus is not None:
        if not cpus:
            raise ValueError("cpus: name at least one CPU")
        prefix += [_util("taskset", "pinned to a CPU"), "-c", ",".join(str(int(c)) for c in cpus)]
    if not network:
        prefix += [_util("unshare", "cut off from the network"), "-n" if os.geteuid() == 0 else "-rn"]
    if memory_mb is not None or cpu_limit_s is not None:
        prefix += [_util("prlimit", "limited"), "--core=0"]
        if memory_mb is not None:
            prefix.append(f"--as={int(memory_mb) << 20}")
        if cpu_limit_s is not None:
            soft = max(1, math.ceil(cpu_limit_s))
            prefix.append(f"--cpu={soft}:{soft + 1}")
        prefix.append("--")
    return [*prefix, *(os.fspath(a) for a in argv)]


def _util(name: str, purpose: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/bin")
    if path is None:
        raise ToolNotFound(f"{name} (util-linux) not found: children cannot be {purpose}")
    return path


def _popen(argv: Sequence[str | os.PathLike[str]], what: str, *, memory_mb: int | None,
           network: bool, env: Mapping[str, str] | None, cpu_limit_s: float | None = None,
           cpus: Sequence[int] | None = None, **popen: Any) -> subprocess.Popen[bytes]:
    full = limited(argv, memory_mb=memory_mb, network=network, cpu_limit_s=cpu_limit_s, cpus=cpus)
    try:
        return subprocess.Popen(full, env=None if env is None else dict(env),
                                start_new_session=True, **popen)
    except FileNotFoundError as exc:
        raise ToolNotFound(f"{what}: cannot start {os.fspath(argv[0])}: {exc.strerror}") from exc
    except OSError as exc:
        raise ToolError(f"{what}: cannot start {os.fspath(argv[0])}: {exc}") from exc


def _exited_within(pid: int, timeout: float) -> bool:
    """Whether child ``pid`` exits within ``timeout`` seconds (it is not reaped)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:  # a kernel before 5.3, or a seccomp filter: poll waitid instead
        deadline, delay = time.monotonic() + timeout, 0.001
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return True
    try:
        poller = select.poll()  # not select.select: Ray workers hold descriptors past 1024
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000) + 1)))
    finally:
        os.close(fd)


def _reap(proc: subprocess.Popen[bytes], timeout: float | None) -> tuple[int, float] | None:
    """Reap ``proc`` with ``wait4``: (exit code, user+sys CPU seconds), or None when it is still
    running after ``timeout`` seconds (None: wait as long as it takes)."""
    if proc.returncode is not None:
        return proc.returncode, 0.0
    if timeout is not None and not _exited_within(proc.pid, timeout):
        return None
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): no usage to be had
        return proc.wait(), 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _kill_group(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGKILL the child's process group (while the child is unreaped its pid cannot be reused)
    and reap the child."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    got = _reap(proc, None)
    assert got is not None
    return got


def _stream(stack: ExitStack, target: Stream, mode: str) -> tuple[Any, IO[bytes] | None]:
    """(what Popen gets for a stream, the temporary file that captures it or None)."""
    if target == PIPE:
        capture = stack.enter_context(tempfile.TemporaryFile())
        return capture, capture
    if isinstance(target, (str, os.PathLike)):
        return stack.enter_context(open(target, mode)), None
    return target, None


def run(argv: Sequence[str | os.PathLike[str]], *, what: str, timeout: float,
        cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
        input: bytes | None = None, stdin: Stream = DEVNULL, stdout: Stream = PIPE,
        stderr: Stream = PIPE, memory_mb: int | None = None, network: bool = True,
        cpu_limit_s: float | None = None, text: bool = False, check: bool = True,
        raise_timeout: bool = True, shown: str | None = None, cpus: Sequence[int] | None = None) -> Finished:
    """Run ``argv`` to its end under the limits and return what it did.

    ``what`` names the program in errors; ``shown`` is what of the command line they show
    (default: the arguments, cut at 200 characters).  ``input`` (bytes) replaces ``stdin``.
    Past ``timeout`` seconds the process group is killed and :class:`ToolTimeout` raised
    (with ``raise_timeout=False``: a :class:`Finished` with ``timed_out``); a non-zero exit
    raises :class:`ToolFailed` when ``check``.  Both messages end with the stderr tail.
    ``cpus``: run only on those CPUs (:func:`limited`).
    """
    shown = " ".join(os.fspath(a) for a in argv[1:])[:200] if shown is None else shown
    started = time.monotonic()
    with ExitStack() as stack:
        if input is not None:
            stdin = stack.enter_context(tempfile.TemporaryFile())
            stdin.write(input)
            stdin.seek(0)
        fin, _ = _stream(stack, stdin, "rb")
        fout, out_file = _stream(stack, stdout, "wb")
        ferr, err_file = _stream(stack, stderr, "wb")
        proc = _popen(argv, what, memory_mb=memory_mb, network=network, env=env, cwd=cwd,
                      stdin=fin, stdout=fout, stderr=ferr, cpu_limit_s=cpu_limit_s, cpus=cpus)
        try:
            got = _reap(proc, timeout)
            timed_out = got is None
            code, cpu = _kill_group(proc) if got is None else got
        except BaseException:
            _kill_group(proc)
            raise
        out, err = (_read(f, text) for f in (out_file, err_file))
    done = Finished(tuple(os.fspath(a) for a in argv), code, out, err, cpu,
                    time.monotonic() - started, timed_out)
    if timed_out and raise_timeout:
        raise ToolTimeout(_message(f"{what} timed out after {timeout:g}s", shown, err))
    if check and not timed_out and code != 0:
        raise ToolFailed(_message(f"{what} exited {code}", shown, err))
    return done


def _read(capture: IO[bytes] | None, text: bool) -> Any:
    data = b""
    if capture is not None:
        capture.seek(0)
        data = capture.read()
    return data.decode("utf-8", errors="replace") if text else data


def _message(head: str, shown: str, stderr: str | bytes) -> str:
    said = tail(stderr)
    return head + (f": {shown}" if shown else "") + (f"\n{said}" if said else "")


class Child:
    """A started child in its own session (:func:`start`).

    ``wait`` and ``communicate`` raise :class:`ToolTimeout` (a ``TimeoutError``) past their
    limit and leave the child running; ``wait_cpu`` kills it; ``kill`` ends the whole process
    group; ``terminate`` and ``send_signal`` signal the child alone (to let it shut down).
    """

    def __init__(self, proc: subprocess.Popen[bytes], what: str):
        self._proc = proc
        self.what = what
        self.pid: int = proc.pid
        self.stdin, self.stdout, self.stderr = proc.stdin, proc.stdout, proc.stderr

    @property
    def returncode(self) -> int | None:
        """The exit code once reaped (negative: the signal that ended it), else None."""
        return self._proc.returncode

    def poll(self) -> int | None:
        """The exit code if the child has exited (it is reaped), else None."""
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit; its exit code."""
        return self.wait_cpu(timeout, kill=False)[0]

    def wait_cpu(self, timeout: float | None = None, *, kill: bool = True) -> tuple[int, float]:
        """Wait for the child to exit: (exit code, user+sys CPU seconds of the child).  Past
        ``timeout`` its process group is killed (unless ``kill`` is false) and
        :class:`ToolTimeout` raised."""
        got = _reap(self._proc, timeout)
        if got is not None:
            return got
        if kill:
            _kill_group(self._proc)
            raise ToolTimeout(f"{self.what} ran past its {timeout:g} s limit (killed)")
        raise ToolTimeout(f"{self.what} still runs after {timeout:g} s")

    def communicate(self, input: bytes | None = None,
                    timeout: float | None = None) -> tuple[Any, Any]:
        """Send ``input``, read the piped streams to their end and wait (as ``Popen``)."""
        try:
            return self._proc.communicate(input, timeout)
        except subprocess.TimeoutExpired:
            raise ToolTimeout(f"{self.what} still runs after {timeout:g} s") from None

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the child alone."""
        self._proc.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM to the child alone."""
        self._proc.terminate()

    def kill(self) -> None:
        """SIGKILL the child's whole process group and reap the child."""
        _kill_group(self._proc)


def start(argv: Sequence[str | os.PathLike[str]], *, what: str,
          cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
          stdin: Any = DEVNULL, stdout: Any = None, stderr: Any = None,
          memory_mb: int | None = None, network: bool = True, pass_fds: Sequence[int] = (),
          cpu_limit_s: float | None = None, text: bool = False) -> Child:
    """Start ``argv`` under the limits without waiting (streams as ``Popen`` takes them: PIPE
    here is a real pipe; None inherits ours); ``pass_fds`` stay open in the child."""
    proc = _popen(argv, what, memory_mb=memory_mb, network=network, env=env, cwd=cwd,
                  stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds), text=text,
                  cpu_limit_s=cpu_limit_s)
    return Child(proc, what)
