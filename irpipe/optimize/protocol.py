"""The wire protocol of ``irpipe serve``: framing, request validation, and a small client.

Each message is a 4-byte big-endian length and a UTF-8 JSON object; one reply per
request, in order, on the same connection, which may carry many requests.

    {"op": "health"}
        -> {"ok": true, "model": ..., "arch": ..., "worker": "alive", "stats": {...},
            "optimize": {"workers": 1, "queued": 0, "running": 0, "cached": n}, ...}
           ({"ok": false, "worker": "dead: ...", ...} once the batch worker has died)
    {"op": "advise", "module": "<base64 bitcode or IR text>",
     "objective": "size" | "instcount" | "speed",     (optional, default "size")
     "verify": 10,                                     (optional, an integer 1..10000)
     "source": "a.c",                                  (optional, a string: the advice file's key)
     "digest": "<64 hex>"}                             (optional: the pass plugin's model-input digest;
                                                        a digest the server has seen is answered unparsed)
        -> {"ok": true, "pipeline": best, "candidates": [...], "instructions": n, "has_main": bool}
    {"op": "optimize", "module": ..., "objective": "size" | "instcount", "verify": 10, "source": "a.ll",
     "target": {"mtriple": "", "target_cpu": "", "strip_optnone": false},   (optional, all keys too)
     "text": false, "advice": false}                   (optional: also answer these)
        -> {"ok": true, "objective": ..., "pipeline": ..., "metric": ..., ... (the OptimizeResult
            summary), "bitcode": "<base64 of the chosen module>", "cached": bool,
            "text": "<the chosen module as IR text>" (with "text": true),
            "advice": {an advice-file entry} (with "advice": true)}
    {"op": "loops", "loops": [<one function's plugin loop listing entries>],
     "unroll_and_jam": false, "distribute": false}     (optional: whether the compile runs those passes)
        -> {"ok": true, "loops": {"f/L0": {"unroll": 4}, ...}}   (the loop policy's decisions: the
                                                        pass plugin's live per-loop mode, clang -O3)
    anything else, a bad module         -> {"ok": false, "error": "<one line>"}
                                           (+ "busy": true when the optimize queue is full)

``candidates`` is the list ``irpipe optimize`` compiles for the objective (the
baseline first, see :func:`irpipe.optimize.apply.candidates`); ``instructions``
and ``has_main`` are what it needs besides (the module's IR instruction count,
whether it defines ``main``).  ``pipeline`` (size, instcount only) is the answer
for callers that cannot compile, like the pass plugin; speed is chosen by running
the program, so a speed answer has no ``pipeline``.

``optimize`` is the whole of ``irpipe optimize`` done in the warm server (check, opt-22
baseline, model, verifying compiles: :mod:`irpipe.optimize.jobs`); the reply is what the
in-process command computes, byte for byte.  Speed runs the program, so it stays with the
client (an optimize request for it is refused: ask ``advise``).

Every request is validated before it reaches the model: unknown keys, missing or
mistyped fields (``"verify": "abc"``, ``null``), a non-object, a frame over
:data:`MAX_MESSAGE` bytes or JSON nested deeper than :data:`MAX_DEPTH` get an
error reply.  A frame that breaks the framing itself (too long, cut short) also
closes the connection; any other bad request leaves it open.

The socket file (server side) is :mod:`irpipe.optimize.sockfile`.

    USAGE: reply = request("/tmp/irpipe.sock", {"op": "health"})
           RemoteModel("/tmp/irpipe.sock").advise(bitcode, objective="size").candidates
           RemoteModel("/tmp/irpipe.sock").optimize(bitcode, objective="size")["bitcode"]
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from irpipe.errors import FramingError, NotServed, ProtocolError, ServeError

#: Largest frame: a module at irpipe's 64 MiB input limit, base64-encoded, plus the envelope.
MAX_MESSAGE = 96 << 20
#: Largest module a client sends (irpipe.llvm.ir.MAX_MODULE_BYTES, without importing LLVM).
MAX_MODULE = 64 << 20
#: What each optimize objective measures, and the keys of its result summary, in order
#: (``OptimizeResult.summary()``; the reply of op ``optimize`` carries them).
UNITS = {"size": ".text bytes", "instcount": "IR instructions", "speed": "CPU seconds"}
SUMMARY = ("objective", "pipeline", "functions", "metric", "baseline", "baseline_metric", "improvement",
           "input_instructions", "compiles", "tried", "seconds", "loops", "note")
#: Largest reply a client reads: an optimize answer carries the output bitcode and maybe its text.
MAX_REPLY = 4 * MAX_MESSAGE
#: Deepest JSON nesting a request may have (a valid one has 1).
MAX_DEPTH = 32
OBJECTIVES = ("size", "instcount", "speed")
MAX_VERIFY = 10_000
_FIELDS = {"health": {"op"}, "advise": {"op", "module", "objective", "verify", "source", "digest"},
           "optimize": {"op", "module", "objective", "verify", "source", "target", "text", "advice"},
           "loops": {"op", "loops", "unroll_and_jam", "distribute"}}
_TARGET = ("mtriple", "target_cpu", "strip_optnone")
_DIGEST = re.compile(r"(?:[0-9a-f]{64})?")  # advise's optional model-input digest (the pass plugin's)
_TARGET_NAME = re.compile(r"[A-Za-z0-9_.,+-]{0,128}")  # a triple or a CPU name, never a flag or a path


def send(conn: socket.socket, obj: dict[str, Any]) -> None:
    """Write one framed JSON message."""
    data = json.dumps(obj).encode()
    conn.sendall(struct.pack(">I", len(data)) + data)


def _recv_exact(conn: socket.socket, n: int, deadline: float | None) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the rest of the message did not come in time")
            conn.settimeout(left)
        chunk = conn.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            if buf:
                raise FramingError(f"connection closed in a message ({len(buf)} of {n} bytes)")
            return None
        buf += chunk
    return bytes(buf)


def recv(conn: socket.socket, *, idle_s: float | None = None,
         max_message: int = MAX_MESSAGE) -> dict[str, Any] | None:
    """Read one framed JSON object; None at a clean end of stream.

    With ``idle_s`` the message must start within ``idle_s`` seconds and arrive
    within ``idle_s`` more (``TimeoutError`` otherwise).  Raises
    :class:`FramingError` when the stream cannot be read on, :class:`ProtocolError`
    for a complete frame that is not a JSON object of at most :data:`MAX_DEPTH` levels.
    """
    head = _recv_exact(conn, 4, None if idle_s is None else time.monotonic() + idle_s)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > max_message:
        raise FramingError(f"message of {size} bytes is over the {max_message} limit")
    body = _recv_exact(conn, size, None if idle_s is None else time.monotonic() + idle_s)
    if body is None:
        raise FramingError(f"connection closed before a {size}-byte message")
    return decode(body)


def decode(body: bytes) -> dict[str, Any]:
    """A frame's JSON object; :class:`ProtocolError` if it is not one (or nests too deep)."""
    try:
        obj = json.loads(body)
    except RecursionError:
        raise ProtocolError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"a message must be a JSON object, not {type(obj).__name__}")
    if _depth(obj) > MAX_DEPTH:
        raise ProtocolError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return obj


def _depth(obj: Any) -> int:
    """Nesting depth of parsed JSON (iterative, stops a level past MAX_DEPTH)."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        todo += [(c, level + 1) for c in children if isinstance(c, (dict, list))]
    return deepest


def validate(request: dict[str, Any]) -> dict[str, Any]:
    """A checked request with defaults filled in; the module comes back decoded (bytes), an
    optimize request's target as ``{"triple", "cpu", "strip_optnone"}``.

    Raises :class:`ProtocolError` naming the first bad field.
    """
    op = request.get("op")
    if not isinstance(op, str) or op not in _FIELDS:
        raise ProtocolError(f"unknown op {op!r}; known: {', '.join(_FIELDS)}")
    unknown = sorted(set(request) - _FIELDS[op])
    if unknown:
        raise ProtocolError(f"{op}: unknown field(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(_FIELDS[op]))}")
    if op == "health":
        return {"op": op}
    if op == "loops":
        return _loops_fields(request)
    module = request.get("module")
    if not isinstance(module, str) or not module:
        raise ProtocolError(f"{op}: 'module' must be a non-empty base64 string, got {_kind(module)}")
    try:
        raw = base64.b64decode(module, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{op}: 'module' is not valid base64") from None
    objective = request.get("objective", "size")
    if objective not in OBJECTIVES:  # also refuses null, numbers, lists
        raise ProtocolError(f"{op}: objective {objective!r}: choose from {', '.join(OBJECTIVES)}")
    verify = request.get("verify", 10)
    if type(verify) is not int or not 1 <= verify <= MAX_VERIFY:  # bool is not an int here
        raise ProtocolError(f"{op}: 'verify' must be an integer 1..{MAX_VERIFY}, got {_kind(verify)}")
    source = request.get("source", "")
    if not isinstance(source, str) or len(source) > 4096:
        raise ProtocolError(f"{op}: 'source' must be a string (at most 4096 characters), got {_kind(source)}")
    out = {"op": op, "module": raw, "objective": objective, "verify": verify, "source": source}
    if op == "advise":
        digest = request.get("digest", "")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ProtocolError(f"advise: 'digest' must be 64 lowercase hex digits, got {_kind(digest)}")
        out["digest"] = digest
    return {**out, **_optimize_fields(request)} if op == "optimize" else out


def _loops_fields(request: dict[str, Any]) -> dict[str, Any]:
    """A checked loops request: the listing and which optional loop passes the compile runs."""
    from irpipe.llvm.loops import checked_listing

    try:
        listing = checked_listing(request.get("loops"))
    except ValueError as exc:
        raise ProtocolError(f"loops: {exc}") from None
    out: dict[str, Any] = {"op": "loops", "loops": listing}
    for key in ("unroll_and_jam", "distribute"):
        out[key] = request.get(key, False)
        if type(out[key]) is not bool:
            raise ProtocolError(f"loops: {key!r} must be true or false, got {_kind(out[key])}")
    return out


def _optimize_fields(request: dict[str, Any]) -> dict[str, Any]:
    """What optimize adds to advise: the target, ``text`` and ``advice`` (checked)."""
    if request.get("objective") == "speed":
        raise ProtocolError("optimize: objective 'speed' is measured by running the program, which "
                            "stays with the client: ask op advise (irpipe optimize --server does)")
    target = request.get("target", {})
    if not isinstance(target, dict) or set(target) - set(_TARGET):
        raise ProtocolError(f"optimize: 'target' must be an object with keys among {', '.join(_TARGET)}, "
                            f"got {_kind(target)}")
    names = {}
    for key in _TARGET[:2]:
        value = target.get(key) or ""  # null or "": the module's own
        if not isinstance(value, str) or not _TARGET_NAME.fullmatch(value):
            raise ProtocolError(f"optimize: target {key!r} must be a name of letters, digits and "
                                f"'_.,+-' (at most 128), got {_kind(target.get(key))}")
        names[key] = value
    flags = {"strip_optnone": target.get("strip_optnone", False),
             "text": request.get("text", False), "advice": request.get("advice", False)}
    for key, value in flags.items():
        if type(value) is not bool:
            raise ProtocolError(f"optimize: {key!r} must be true or false, got {_kind(value)}")
    return {"target": {"triple": names["mtriple"], "cpu": names["target_cpu"],
                       "strip_optnone": flags["strip_optnone"]}, "text": flags["text"], "advice": flags["advice"]}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def request(path: str | Path, message: dict[str, Any], *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Send ``message`` to the server at ``path`` on a fresh connection; its ``ok`` reply.

    :class:`ServeError` when the server cannot be reached or gives no answer in
    ``timeout_s``, :class:`ProtocolError` when it refuses the request (its error;
    :class:`NotServed` when it is too busy for it).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        try:
            conn.connect(str(path))
            send(conn, message)
            reply = recv(conn, max_message=MAX_REPLY)
        except (TimeoutError, socket.timeout):
            raise ServeError(f"irpipe serve at {path}: no answer within {timeout_s:g} s") from None
        except FramingError as exc:
            raise ServeError(f"irpipe serve at {path}: {exc}") from None
        except OSError as exc:
            raise ServeError(f"cannot reach irpipe serve at {path}: {exc.strerror or exc}") from None
    if reply is None:
        raise ServeError(f"irpipe serve at {path} closed the connection without an answer")
    if reply.get("ok") is not True:
        error = NotServed if reply.get("busy") is True else ProtocolError
        raise error(f"irpipe serve at {path}: {reply.get('error', 'refused without a reason')}")
    return reply


@dataclass(frozen=True)
class Advice:
    """What the model says about one module, all ``irpipe optimize`` needs from it."""

    candidates: list[str]  #: pipelines to compile, the objective's baseline first
    instructions: int      #: IR instructions of the module as given
    has_main: bool         #: whether it defines main (speed runs the program)


@runtime_checkable
class Adviser(Protocol):
    """What answers :func:`irpipe.optimize.apply.optimize`'s one model call in place of a loaded
    model: a :class:`RemoteModel`, or irpipe serve's own batch worker (for its optimize jobs)."""

    def advise(self, module: bytes, *, objective: str = "size", verify: int = 10,
               name: str = "<module>") -> Advice:
        """The :class:`Advice` for ``module``."""


class RemoteModel:
    """A running ``irpipe serve`` in the place of a loaded model (this process needs no torch).

    Args:
        path: the server's Unix socket.
        timeout_s: the longest wait for one answer.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 60.0):
        self.path, self.timeout_s = Path(path), timeout_s

    def advise(self, module: bytes, *, objective: str = "size", verify: int = 10,
               name: str = "<module>") -> Advice:
        """The server's :class:`Advice` for ``module`` (bitcode or IR text); ``verify`` 0 asks
        for 1 (both mean: the baseline only)."""
        reply = request(self.path, {"op": "advise", "module": base64.b64encode(module).decode(),
                                    "objective": objective, "verify": max(verify, 1), "source": name[-4096:]},
                        timeout_s=self.timeout_s)
        cands = reply.get("candidates")
        if (not isinstance(cands, list) or not cands or not all(isinstance(c, str) for c in cands)
                or type(reply.get("instructions")) is not int or not isinstance(reply.get("has_main"), bool)):
            raise ProtocolError(f"irpipe serve at {self.path}: the answer lacks candidates, instructions "
                                "or has_main (an older server? restart it)")
        return Advice(cands, reply["instructions"], reply["has_main"])

    def optimize(self, module: bytes, *, objective: str = "size", verify: int = 10, name: str = "<module>",
                 target: dict[str, Any] | None = None, text: bool = False, advice: bool = False,
                 timeout_s: float = 900.0) -> dict[str, Any]:
        """The server's op optimize reply for ``module``, its ``bitcode`` decoded (bytes).

        ``target`` is :meth:`irpipe.label.measure.Target.describe`'s form; ``verify`` 0 asks
        for 1.  :class:`NotServed` when the server is busy or predates op optimize (do the
        work here), :class:`ProtocolError` with the server's one line for a refused module.
        """
        message = {"op": "optimize", "module": base64.b64encode(module).decode(), "objective": objective,
                   "verify": max(verify, 1), "source": name[-4096:], "target": target or {},
                   "text": text, "advice": advice}
        try:
            reply = request(self.path, message, timeout_s=timeout_s)
        except NotServed:
            raise
        except ProtocolError as exc:
            if "unknown op 'optimize'" in str(exc):  # an older server: advise still works
                raise NotServed(str(exc)) from None
            raise
        try:
            reply["bitcode"] = base64.b64decode(reply["bitcode"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise ProtocolError(f"irpipe serve at {self.path}: the optimize answer has no bitcode") from None
        if (not isinstance(reply.get("pipeline"), str) or (text and not isinstance(reply.get("text"), str))
                or (advice and not isinstance(reply.get("advice"), dict))):
            raise ProtocolError(f"irpipe serve at {self.path}: the optimize answer lacks pipeline, text or advice")
        return reply
