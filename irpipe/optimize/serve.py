"""``irpipe serve``: the model behind a Unix socket, with batched inference.

Protocol: each message is a 4-byte big-endian length and a UTF-8 JSON object; one
reply per request, on the same connection, which may carry many requests.

    {"op": "health"}                        -> {"ok": true, "model": ..., "arch": ..., "stats": {...}}
    {"op": "advise", "module": "<base64 bitcode or IR text>", "objective": "size",
     "verify": 10}                          -> {"ok": true, "pipeline": best, "candidates": [...]}
    anything else / a bad module            -> {"ok": false, "error": "..."}

``pipeline`` is the policy's first choice when the cost head also predicts it beats
the reference (-Oz), else the reference (no compiles happen in the server: the
caller, e.g. the pass plugin, has a strict time budget); ``candidates`` is the
verify set of ``irpipe optimize`` for callers that can afford to compile.
Requests from all connections are queued and the model runs on batches of up to
``max_batch`` modules, waiting at most ``batch_wait_s`` for a batch to fill.
Answers are cached by what the model reads of a module (``Predictor.cache_key``):
a build that compiles each file twice (static and -fPIC) pays one inference.
With ``record``, every answer is kept as an advice entry for its source file and
written (atomically) as an advice file on stop: a later build can replay the
decisions with ``-irpipe-advice`` and no server.
The socket is created 0600; an existing path is refused unless it is a stale
socket of ours (no listener).  SIGTERM / SIGINT stop it cleanly: no new
connections, queued requests answered, the socket file removed.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import socket
import stat
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from irpipe.errors import IrpipeError, ToolError
from irpipe.optimize.predict import Predictor

MAX_MESSAGE = 256 << 20


class ServeError(ToolError):
    """The server cannot start (socket path taken, not ours, not a socket)."""


def send(conn: socket.socket, obj: dict[str, Any]) -> None:
    """Write one framed JSON message."""
    data = json.dumps(obj).encode()
    conn.sendall(struct.pack(">I", len(data)) + data)


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv(conn: socket.socket) -> dict[str, Any] | None:
    """Read one framed JSON message (None at end of stream); ValueError if malformed."""
    head = _recv_exact(conn, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is over the {MAX_MESSAGE} limit")
    body = _recv_exact(conn, size)
    if body is None:
        return None
    obj = json.loads(body)
    if not isinstance(obj, dict):
        raise ValueError("a request must be a JSON object")
    return obj


def prepare_socket_path(path: Path) -> None:
    """Refuse a path that is not a stale socket of ours; remove a stale one."""
    if not path.exists() and not path.is_symlink():
        return
    st = path.lstat()
    if not stat.S_ISSOCK(st.st_mode):
        raise ServeError(f"{path} exists and is not a socket; not touching it")
    if st.st_uid != os.getuid():
        raise ServeError(f"{path} is a socket owned by uid {st.st_uid}, not us; refusing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale: nobody listens
        return
    finally:
        probe.close()
    raise ServeError(f"another server is listening on {path}")


class Server:
    """Serve ``predictor`` on a Unix socket at ``path``."""

    def __init__(self, predictor: Predictor, path: str | Path, *, max_batch: int = 16,
                 batch_wait_s: float = 0.005, record: str | Path | None = None,
                 cache_size: int = 4096):
        self.predictor, self.path = predictor, Path(path)
        self.record = Path(record) if record else None
        self.recorded: dict[str, dict[str, Any]] = {}
        self.cache: "OrderedDict[str, Any]" = OrderedDict()
        self.cache_size = cache_size
        self.channels: list[Any] = []  # MLGO channels served beside the socket (health reports them)
        self.max_batch, self.batch_wait_s = max_batch, batch_wait_s
        self.requests: "queue.Queue[tuple[dict, queue.Queue]]" = queue.Queue()
        self.stopping = threading.Event()
        self.stats = {"requests": 0, "errors": 0, "batches": 0, "modules": 0, "cache_hits": 0,
                      "started": time.time()}
        self.sock: socket.socket | None = None

    def start(self) -> None:
        """Bind the socket (0600) and start the accept and batch threads."""
        prepare_socket_path(self.path)
        # warm up (child process, first forward pass) before a client with a deadline arrives
        self.predictor.predict("define i32 @f(i32 %x) {\n  ret i32 %x\n}\n", name="<warm-up>")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(64)
        sock.settimeout(0.2)
        self.sock = sock
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._batches, daemon=True).start()

    def stop(self) -> None:
        """Stop accepting, let queued requests finish, remove the socket file."""
        self.stopping.set()
        if self.sock is not None:
            self.sock.close()
        deadline = time.monotonic() + 10
        while not self.requests.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.path.exists() and stat.S_ISSOCK(self.path.lstat().st_mode):
            self.path.unlink()
        if self.record is not None:
            from irpipe.optimize import advice

            advice.write(self.record, sorted(self.recorded.values(), key=lambda e: e["source"]))

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    request = recv(conn)
                except (ValueError, OSError) as exc:
                    self.stats["errors"] += 1
                    try:
                        send(conn, {"ok": False, "error": f"bad request: {exc}"})
                    except OSError:
                        pass
                    return
                if request is None:
                    return
                self.stats["requests"] += 1
                try:
                    send(conn, self._answer(request))
                except OSError:
                    return

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "health":
            return {"ok": True, "model": str(self.predictor.directory), "arch": self.predictor.arch,
                    "stats": {**self.stats, "uptime_s": round(time.time() - self.stats["started"], 3)},
                    "channels": {str(c.base): {"kind": c.policy.kind, **c.stats} for c in self.channels}}
        if op != "advise":
            self.stats["errors"] += 1
            return {"ok": False, "error": f"unknown op {op!r}; known: health, advise"}
        reply: "queue.Queue[dict]" = queue.Queue(maxsize=1)
        self.requests.put((request, reply))
        return reply.get()

    def _batches(self) -> None:
        while not self.stopping.is_set() or not self.requests.empty():
            try:
                first = self.requests.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.batch_wait_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.requests.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._run(batch)

    def _run(self, batch: list[tuple[dict, "queue.Queue[dict]"]]) -> None:
        parsed, replies = [], {}
        for i, (request, reply) in enumerate(batch):
            try:
                raw = base64.b64decode(request["module"], validate=True)
                x = self.predictor.inputs(raw, name=str(request.get("source", "<module>")))
            except (KeyError, ValueError, TypeError, IrpipeError) as exc:
                self.stats["errors"] += 1
                replies[i] = {"ok": False, "error": f"bad module: {str(exc).splitlines()[0]}"}
                continue
            parsed.append((i, x, self.predictor.cache_key(x)))
        todo = [(i, x, key) for i, x, key in parsed if key not in self.cache]
        if todo:
            for (_, _, key), pred in zip(todo, self.predictor.predict_inputs([x for _, x, _ in todo])):
                self.cache[key] = pred
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
            self.stats["batches"] += 1
        self.stats["modules"] += len(parsed)
        self.stats["cache_hits"] += len(parsed) - len(todo)
        for i, x, key in parsed:
            replies[i] = self._advise(batch[i][0], self.cache[key])
        for i, (_, reply) in enumerate(batch):
            reply.put(replies[i])

    def _advise(self, request: dict[str, Any], pred: Any) -> dict[str, Any]:
        """The answer for one module's prediction (no compile: the caller has a deadline)."""
        objective = request.get("objective", "size")
        if objective not in ("size", "instcount"):
            return {"ok": False, "error": f"objective {objective!r}: size or instcount"}
        candidates = self.predictor.verify_set(pred, objective, int(request.get("verify", 10)))
        first = pred.ranking(objective)[0]
        # keep the reference unless the cost head also predicts a gain
        cost = pred.predicted(objective)
        ref = self.predictor.pset.pipelines[self.predictor.meta["reference"]]
        if cost[pred.pipelines.index(first)] >= cost[pred.pipelines.index(ref)]:
            first = ref
        source = str(request.get("source", ""))
        if self.record is not None and source:
            from irpipe.optimize import advice

            self.recorded[source] = advice.module_advice("", source, objective, first)
        return {"ok": True, "pipeline": first, "candidates": candidates}
