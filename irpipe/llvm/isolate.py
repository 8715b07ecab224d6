"""Run LLVM work on untrusted input in a child process, so a crash costs one call.

LLVM's bitcode reader is not hardened: a mutated file can segfault a release
build or trip an assertion in llvmlite's.  An :class:`Isolated` worker is a
persistent child (``spawn``: no inherited threads or Ray state) that runs
module-level functions on request.  It is started as ``python -m
irpipe.llvm.isolate`` over a socket pair (not multiprocessing's spawn, which
would re-run the caller's ``__main__`` in the child).  A crash, a hang past
``timeout_s`` or an allocation past ``memory_mb`` (RLIMIT_AS) kills only the
child: the caller gets an :class:`IRError` naming what happened (with LLVM's
own last error line when it printed one), and the next call starts a fresh
child.

    USAGE: with Isolated() as worker: arrays = worker.call(fn, data, label="a.bc")
"""

from __future__ import annotations

import atexit
import importlib
import resource
import signal
import socket
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

from irpipe.errors import IrpipeError, IRError
from irpipe.runtime import process

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 8192


def _serve(conn: Any, memory_mb: int | None) -> None:
    """Child loop: receive (module, function, args, kwargs), send back the result or the error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_mb:
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        module, qualname, args, kwargs = request
        try:
            fn = getattr(importlib.import_module(module), qualname)
            conn.send(("ok", fn(*args, **kwargs)))
        except IrpipeError as exc:
            conn.send(("error", type(exc).__module__, type(exc).__name__, str(exc)))
        except MemoryError:
            conn.send(("error", IRError.__module__, "IRError",
                       f"out of memory (limit {memory_mb} MiB)"))
        except Exception as exc:  # a bug in irpipe, not bad input: keep its type in the message
            conn.send(("error", IRError.__module__, "IRError", f"{type(exc).__name__}: {exc}"))


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit code"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


class Isolated:
    """A persistent child process that runs LLVM work; restarted after a crash.

    Args:
        timeout_s: wall-clock limit of one call; past it the child is killed.
        memory_mb: address-space limit of the child (None: unlimited).
        what: what runs in the child, as error messages name it ("LLVM", "the MLIR parser").
        expects: what inputs the child reads, for the crash message.
        error: the :class:`IRError` subclass raised for a crash or a time-out.
    """

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_mb: int | None = DEFAULT_MEMORY_MB, what: str = "LLVM",
                 expects: str = "inputs must be LLVM 22.x IR text or bitcode",
                 error: type[IRError] = IRError):
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.what = what
        self.expects = expects
        self.error = error
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self.restarts = 0  # children lost to a crash or a time-out

    def _start(self) -> None:
        parent, child = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()
        self._proc = process.start(
            [sys.executable, "-m", "irpipe.llvm.isolate", str(child.fileno()), str(self.memory_mb or 0)],
            what=f"the isolated {self.what} worker", pass_fds=(child.fileno(),), stdin=process.DEVNULL,
            stdout=process.DEVNULL, stderr=self._stderr)
        child.close()
        self._conn = Connection(parent.detach())

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _llvm_error(self) -> str:
        """LLVM's last "LLVM ERROR"/assertion line on the child's stderr, if any."""
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-20000:].decode(errors="replace").splitlines()
        except (OSError, ValueError):
            return ""
        hits = [ln.strip() for ln in lines if "LLVM ERROR" in ln or "Assertion" in ln]
        return f" [{hits[-1][:200]}]" if hits else ""

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._conn.close()
            self._stderr.close()
        self._proc = self._conn = None

    def call(self, fn: Callable[..., Any], *args: Any, label: str = "<module>",
             timeout_s: float | None = None, **kwargs: Any) -> Any:
        """Run module-level ``fn(*args, **kwargs)`` in the child and return its result.

        Errors irpipe raises in the child are re-raised here with their type;
        a crash, time-out or memory exhaustion raises :class:`IRError` that
        starts with ``label`` (the input's name).  ``timeout_s`` overrides the
        worker's time limit for this call.
        """
        with self._lock:
            if not self._alive():
                self._kill()
                self._start()
            try:
                self._conn.send((fn.__module__, fn.__qualname__, args, kwargs))
                limit = self.timeout_s if timeout_s is None else timeout_s
                ready = self._conn.poll(limit)
            except (BrokenPipeError, EOFError, OSError):
                ready = True  # the child is gone; recv below reports it
            if not ready:
                self._kill()
                self.restarts += 1
                raise self.error(f"{label}: {self.what} did not finish within {limit:g} s; "
                              "the input was given up (the worker is restarted)")
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._proc.wait()
                how = _signal_name(self._proc.returncode)
                how += self._llvm_error()
                self._kill()
                self.restarts += 1
                limit = f", work needing more than {self.memory_mb} MiB" if self.memory_mb else ""
                raise self.error(f"{label}: {self.what} crashed ({how}); the worker was restarted (a "
                              f"malformed input{limit}, or a bug in {self.what}; {self.expects})") from None
        if reply[0] == "ok":
            return reply[1]
        _, module, cls_name, message = reply
        cls = getattr(importlib.import_module(module), cls_name, IRError)
        raise cls(message)

    def close(self) -> None:
        """Stop the child (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except OSError:
                    pass
            self._kill()

    def __enter__(self) -> "Isolated":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Isolated | None = None


def shared() -> Isolated:
    """The process-wide worker used by the public API when ``isolate=True``."""
    global _shared
    if _shared is None:
        _shared = Isolated()
        atexit.register(_shared.close)
    return _shared


if __name__ == "__main__":  # the child: python -m irpipe.llvm.isolate FD MEMORY_MB
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]) or None)
