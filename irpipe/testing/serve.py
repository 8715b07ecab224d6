"""Helpers for serve and plugin tests: ``irpipe serve`` as a process, a client, and a fake model.

``start`` returns once the socket exists (the server publishes it only once it
accepts), with the server's output in ``SOCK.log``.  :class:`FakePredictor` stands in
for a :class:`~irpipe.train.predict.Predictor` in an in-process
:class:`~irpipe.optimize.serve.Server`: no torch, no LLVM, instant answers, so tests
can inject faults into a server they hold.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from irpipe.errors import IRError, ServeError
from irpipe.optimize.protocol import recv, send
from irpipe.runtime import process
from irpipe.runtime.process import Child

FAKE_PIPELINES = ["default<Oz>", "default<Os>", "default<O2>", "default<O3>", "default<O1>"]


def start(sock: Path, *extra: str) -> Child:
    """``irpipe serve --socket SOCK`` as a process, returned once the socket exists; its stdout
    and stderr go to ``SOCK.log`` (``log_of(sock)``)."""
    log = log_of(sock)
    with open(log, "wb") as out:
        proc = process.start([sys.executable, "-m", "irpipe.cli.main", "serve", "--socket", str(sock), *extra],
                             what="irpipe serve", stdout=out, stderr=process.STDOUT)
    deadline = time.monotonic() + 90
    while not sock.exists():
        if proc.poll() is not None:
            raise ServeError(f"irpipe serve exited: {log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("irpipe serve did not create its socket in 90 s")
        time.sleep(0.05)
    return proc


def tree_cpu(pid: int) -> float:
    """User+sys CPU seconds of ``pid`` and every live descendant (reaped children included):
    what a served build pays for ``irpipe serve`` and its LLVM children."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def settle(pid: int, quiet_s: float = 1.0, limit_s: float = 120.0) -> None:
    """Wait until the process tree of ``pid`` used (almost) no CPU for ``quiet_s``."""
    deadline = time.monotonic() + limit_s
    last = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = tree_cpu(pid)
        if now - last < 0.02 * quiet_s:
            return
        last = now


def fake_server(path: Path, answer: Callable[[socket.socket], Any], seen: list[dict] | None = None) -> socket.socket:
    """A stand-in server for plugin tests: reads one request per connection (kept in ``seen``)
    and calls ``answer(conn)``; close the returned socket to stop it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(8)

    def loop() -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            with conn:
                request = recv(conn)
                if seen is not None:
                    seen.append(request)
                answer(conn)
    threading.Thread(target=loop, daemon=True).start()
    return s


def log_of(sock: Path) -> Path:
    """Where :func:`start` writes the server's output."""
    return sock.with_name(sock.name + ".log")


def ask(sock: Path, *requests: dict, timeout_s: float = 60.0) -> list[dict]:
    """Send ``requests`` on one connection; their answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout_s)
        c.connect(str(sock))
        out = []
        for r in requests:
            send(c, r)
            out.append(recv(c))
        return out


def ask_raw(sock: Path, frame: bytes, timeout_s: float = 60.0) -> dict | None:
    """Send one body ``frame`` (framed here) and read one answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout_s)
        c.connect(str(sock))
        c.sendall(struct.pack(">I", len(frame)) + frame)
        return recv(c)


class FakePredictor:
    """A model that needs nothing: a module is "valid" when it contains ``define``; its
    instruction count is its number of lines; scores favour the pipelines in reverse order."""

    arch = "fake"

    def __init__(self) -> None:
        self.directory = Path("<fake>")
        self.pset = SimpleNamespace(pipelines=list(FAKE_PIPELINES))
        self.meta: dict[str, Any] = {"reference": 0}
        self.batches: list[int] = []  # size of each predict_inputs call

    digest_covers_input = True

    def inputs(self, data: bytes | str, name: str = "<module>", *, digest: bool = False) -> Any:
        """A parsed stand-in; :class:`IRError` when ``data`` has no ``define``.  Its input digest
        ignores ``dso_local`` (as a -fPIC twin's program graph does)."""
        raw = data.encode() if isinstance(data, str) else data
        if b"define" not in raw:
            raise IRError(f"{name}: not an LLVM module")
        functions = ["main"] if b"@main(" in raw else []
        same = raw.replace(b" dso_local", b"")
        return SimpleNamespace(instructions=raw.count(b"\n"), graph=SimpleNamespace(functions=functions),
                               key=hashlib.sha256(same).hexdigest(),
                               digest=hashlib.sha256(same).hexdigest() if digest else "")

    def cache_key(self, x: Any) -> str:
        """The module's digest (equal modules, equal predictions)."""
        return x.key

    def predict_inputs(self, inputs: list[Any], batch_size: int = 16) -> list[Any]:
        """One prediction per input (the same for all); records the batch size."""
        from irpipe.train.predict import Prediction

        self.batches.append(len(inputs))
        k = len(FAKE_PIPELINES)
        scores = np.tile(np.arange(k, dtype=float), (3, 1))  # [O, K]: the last pipeline first
        cost = np.tile(-np.arange(k, dtype=float)[:, None], (1, 3))  # [K, O]: and predicted cheapest
        return [Prediction(list(FAKE_PIPELINES), cost, scores, x.instructions) for x in inputs]

    def predict(self, data: bytes | str, name: str = "<module>") -> Any:
        """Prediction for one module."""
        return self.predict_inputs([self.inputs(data, name)])[0]

    def verify_set(self, prediction: Any, objective: str = "instcount", n: int = 10) -> list[str]:
        """The reference, then the ranking (as the real one without calibration)."""
        ranked = [p for p in prediction.ranking(objective) if p != FAKE_PIPELINES[0]]
        return ([FAKE_PIPELINES[0]] + ranked)[:max(n, 1)]
