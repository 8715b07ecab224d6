"""Run LLVM work on untrusted input in a child process, so a crash costs one call.

LLVM's bitcode reader is not hardened: a mutated file can segfault a release
build or trip an assertion in llvmlite's.  An :class:`Isolated` worker is a
persistent child (``spawn``: no inherited threads or Ray state) that runs
module-level functions on request.  A crash, a hang past ``timeout_s`` or an
allocation past ``memory_mb`` (RLIMIT_AS) kills only the child: the caller
gets an :class:`IRError` naming what happened, and the next call starts a
fresh child.

    USAGE: with Isolated() as worker: arrays = worker.call(fn, data, label="a.bc")
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing as mp
import resource
import signal
import threading
from typing import Any, Callable

from irpipe.errors import IrpipeError, IRError

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
    """

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_mb: int | None = DEFAULT_MEMORY_MB):
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self.restarts = 0  # children lost to a crash or a time-out

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.memory_mb), daemon=True,
                                 name="irpipe-llvm")
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
            self._conn.close()
        self._proc = self._conn = None

    def call(self, fn: Callable[..., Any], *args: Any, label: str = "<module>",
             **kwargs: Any) -> Any:
        """Run module-level ``fn(*args, **kwargs)`` in the child and return its result.

        Errors irpipe raises in the child are re-raised here with their type;
        a crash, time-out or memory exhaustion raises :class:`IRError` that
        starts with ``label`` (the input's name).
        """
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._kill()
                self._start()
            try:
                self._conn.send((fn.__module__, fn.__qualname__, args, kwargs))
                ready = self._conn.poll(self.timeout_s)
            except (BrokenPipeError, EOFError, OSError):
                ready = True  # the child is gone; recv below reports it
            if not ready:
                self._kill()
                self.restarts += 1
                raise IRError(f"{label}: LLVM did not finish within {self.timeout_s:.0f} s; "
                              "the input was given up (the worker is restarted)")
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._proc.join(5)
                how = _signal_name(self._proc.exitcode)
                self._kill()
                self.restarts += 1
                limit = f" or needed more than {self.memory_mb} MiB" if self.memory_mb else ""
                raise IRError(f"{label}: LLVM crashed ({how}) on this input: it is malformed"
                              f"{limit}; supported: LLVM 22.x IR text or bitcode") from None
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
