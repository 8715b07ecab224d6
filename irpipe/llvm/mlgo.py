"""The host side of LLVM's interactive ML advisor protocol (MLGO), for stock clang-22/opt-22.

LLVM 22 can ask an outside process for each inlining (or register-eviction)
decision over two named pipes, with no TensorFlow in the compiler::

    clang-22 -O2 -mllvm -enable-ml-inliner=release \\
        -mllvm -inliner-interactive-channel-base=BASE \\
        -mllvm -inliner-interactive-include-default -c a.c
    clang-22 -O2 -mllvm -regalloc-enable-advisor=release \\
        -mllvm -regalloc-evict-interactive-channel-base=BASE -c a.c

The compiler reads ``BASE.in`` and writes ``BASE.out`` (it opens ``.in``
first).  On ``.out`` it writes one JSON header line
``{"features": [TensorSpec...], "advice": TensorSpec}``, then events:
``{"context": NAME}`` lines (the regalloc stream may send several in a row),
and ``{"observation": N}`` lines, each followed by the raw little-endian bytes
of every feature tensor in header order and a ``\\n``.  After each observation
it blocks until it has read exactly the advice tensor's bytes from ``.in``.

A wrong answer can crash the compiler, so :func:`answer` clamps every policy
output to a valid choice: 0/1 for inlining, a candidate the ``mask`` allows
for eviction.  A pipe pair serves one compiler process at a time (the
protocol has no client identity): :class:`Channel` serves compilers one after
another.

    USAGE: with Channel("/tmp/inl", InlinerPolicy.load("models/inliner")) as ch: ch.serve_forever()
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Protocol

import numpy as np

from irpipe.errors import AdvisorProtocolError, ToolError

_DTYPES = {"int64_t": "<i8", "int32_t": "<i4", "float": "<f4", "double": "<f8", "int8_t": "<i1",
           "uint8_t": "<u1", "int16_t": "<i2", "uint16_t": "<u2", "uint32_t": "<u4", "uint64_t": "<u8"}
#: The no-eviction index of the regalloc advisor (the live range being allocated itself)
NO_EVICTION = 32
#: The old name of :class:`~irpipe.errors.AdvisorProtocolError` here.
ProtocolError = AdvisorProtocolError


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the protocol: name, element type and shape (from the header)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]

    @classmethod
    def from_json(cls, obj: dict) -> "TensorSpec":
        if obj.get("type") not in _DTYPES:
            raise AdvisorProtocolError(f"tensor {obj.get('name')!r}: unknown type {obj.get('type')!r}")
        return cls(obj["name"], np.dtype(_DTYPES[obj["type"]]), tuple(int(d) for d in obj["shape"]))

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class Policy(Protocol):
    """Decides one observation: feature name -> flat array; returns the raw choice."""

    kind: str

    def __call__(self, features: dict[str, np.ndarray]) -> int: ...


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise AdvisorProtocolError(f"stream ended inside a tensor ({0 if not data else len(data)} of {n} bytes)")
    return data


def read_header(stream: BinaryIO) -> tuple[list[TensorSpec], TensorSpec]:
    """The feature specs and the advice spec from the first line of ``BASE.out``."""
    line = stream.readline()
    if not line:
        raise AdvisorProtocolError("the compiler closed the channel before its header")
    try:
        head = json.loads(line)
        return [TensorSpec.from_json(f) for f in head["features"]], TensorSpec.from_json(head["advice"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AdvisorProtocolError(f"not an interactive-advisor header: {line[:200]!r}") from exc


def answer(kind: str, choice: int, features: dict[str, np.ndarray]) -> int:
    """``choice`` made valid: inlining 0/1; eviction an index the mask allows (else no eviction)."""
    if kind == "inline":
        return 1 if choice else 0
    mask = features.get("mask")
    if mask is None:
        return NO_EVICTION
    mask = mask.reshape(-1)
    if 0 <= choice < mask.size and mask[choice]:
        return int(choice)
    return NO_EVICTION if NO_EVICTION < mask.size and mask[NO_EVICTION] else int(np.flatnonzero(mask)[-1])


def session(out: BinaryIO, into: BinaryIO, policy: Policy,
            on_decision: Callable[[dict[str, np.ndarray], int], None] | None = None) -> int:
    """Answer one compiler until it closes ``BASE.out``; returns the number of decisions."""
    specs, advice = read_header(out)
    decisions = 0
    while True:
        line = out.readline()
        if not line:
            return decisions
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise AdvisorProtocolError(f"not an event line: {line[:200]!r}") from exc
        if "context" in event:  # the regalloc stream may send several in a row
            continue
        if "observation" not in event:
            raise AdvisorProtocolError(f"unknown event {event!r}")
        features = {s.name: np.frombuffer(_read_exact(out, s.nbytes), s.dtype) for s in specs}
        if _read_exact(out, 1) != b"\n":
            raise AdvisorProtocolError("an observation does not end with a newline")
        choice = answer(policy.kind, int(policy(features)), features)
        into.write(np.asarray([choice], dtype=advice.dtype).tobytes())
        into.flush()
        decisions += 1
        if on_decision is not None:
            on_decision(features, choice)


def make_fifo(path: Path) -> None:
    """Create a 0600 FIFO; an existing FIFO of ours is reused, anything else refused."""
    if path.exists() or path.is_symlink():
        st = path.lstat()
        if not stat.S_ISFIFO(st.st_mode):
            raise ToolError(f"{path} exists and is not a named pipe; not touching it")
        if st.st_uid != os.getuid():
            raise ToolError(f"{path} is a named pipe owned by uid {st.st_uid}, not us; refusing it")
        os.chmod(path, 0o600)
        return
    os.mkfifo(path, 0o600)


class Channel:
    """Serve ``policy`` on ``BASE.in`` / ``BASE.out`` to one compiler after another."""

    def __init__(self, base: str | Path, policy: Policy):
        self.base, self.policy = Path(base), policy
        self.inbound, self.outbound = Path(f"{base}.in"), Path(f"{base}.out")
        self.stopping = threading.Event()
        self.stats = {"compiles": 0, "decisions": 0, "positive": 0, "errors": 0}
        self._lock = threading.Lock()
        self._in_session = threading.Event()
        self._idle = threading.Event()  # set while no serve_forever loop runs
        self._idle.set()

    def open(self) -> "Channel":
        """Create the two 0600 pipes (compilers can connect from now on)."""
        make_fifo(self.inbound)
        make_fifo(self.outbound)
        return self

    def __enter__(self) -> "Channel":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _count(self, features: dict[str, np.ndarray], choice: int) -> None:
        with self._lock:
            self.stats["decisions"] += 1
            self.stats["positive"] += int(choice != 0 if self.policy.kind == "inline" else choice != NO_EVICTION)

    def serve_one(self) -> int:
        """Wait for the next compiler (blocks in open) and answer it to the end."""
        with open(self.inbound, "wb", buffering=0) as into, open(self.outbound, "rb") as out:
            if self.stopping.is_set():
                return 0
            self._in_session.set()
            try:
                n = session(out, into, self.policy, self._count)
            except AdvisorProtocolError:
                with self._lock:
                    self.stats["errors"] += 1
                raise
            finally:
                self._in_session.clear()
            with self._lock:
                self.stats["compiles"] += 1
            return n

    def serve_forever(self) -> None:
        """Serve compilers until :meth:`stop`; a broken session is counted and the next one served."""
        self._idle.clear()
        try:
            while not self.stopping.is_set():
                try:
                    self.serve_one()
                except (AdvisorProtocolError, BrokenPipeError):
                    continue
        finally:
            self._idle.set()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Let a compiler in session finish (it has no fallback), unblock a loop waiting in
        open() for the next one, then remove the pipes."""
        self.stopping.set()
        deadline = time.monotonic() + timeout_s
        while not self._idle.wait(0.02) and time.monotonic() < deadline:
            if self._in_session.is_set():
                continue
            for path, flags in ((self.inbound, os.O_RDONLY), (self.outbound, os.O_WRONLY)):
                try:
                    os.close(os.open(path, flags | os.O_NONBLOCK))
                except OSError:
                    pass  # no peer yet (ENXIO) or gone
        for path in (self.inbound, self.outbound):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
