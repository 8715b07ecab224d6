"""The wire protocol of ``irpipe serve``: framing, request validation, and a small client.

Each message is a 4-byte big-endian length and a UTF-8 JSON object; one reply per
request, in order, on the same connection, which may carry many requests.

    {"op": "health"}
        -> {"ok": true, "model": ..., "arch": ..., "worker": "alive", "stats": {...}, ...}
           ({"ok": false, "worker": "dead: ...", ...} once the batch worker has died)
    {"op": "advise", "module": "<base64 bitcode or IR text>",
     "objective": "size" | "instcount" | "speed",     (optional, default "size")
     "verify": 10,                                     (optional, an integer 1..10000)
     "source": "a.c"}                                  (optional, a string: the advice file's key)
        -> {"ok": true, "pipeline": best, "candidates": [...], "instructions": n, "has_main": bool}
    anything else, a bad module         -> {"ok": false, "error": "<one line>"}

``candidates`` is the list ``irpipe optimize`` compiles for the objective (the
baseline first, see :func:`irpipe.optimize.apply.candidates`); ``instructions``
and ``has_main`` are what it needs besides (the module's IR instruction count,
whether it defines ``main``).  ``pipeline`` (size, instcount only) is the answer
for callers that cannot compile, like the pass plugin; speed is chosen by running
the program, so a speed answer has no ``pipeline``.

Every request is validated before it reaches the model: unknown keys, missing or
mistyped fields (``"verify": "abc"``, ``null``), a non-object, a frame over
:data:`MAX_MESSAGE` bytes or JSON nested deeper than :data:`MAX_DEPTH` get an
error reply.  A frame that breaks the framing itself (too long, cut short) also
closes the connection; any other bad request leaves it open.

The socket file (server side): 0600, published under its path only once it listens
(:func:`listen_hidden`, then :func:`publish`); an existing path is refused unless it is
a stale socket of ours (:func:`prepare_socket_path`).

    USAGE: reply = request("/tmp/irpipe.sock", {"op": "health"})
           RemoteModel("/tmp/irpipe.sock").advise(bitcode, objective="size").candidates
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import socket
import stat
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irpipe.errors import IrpipeError, ToolError

#: Largest frame: a module at irpipe's 64 MiB input limit, base64-encoded, plus the envelope.
MAX_MESSAGE = 96 << 20
#: Deepest JSON nesting a request may have (a valid one has 1).
MAX_DEPTH = 32
OBJECTIVES = ("size", "instcount", "speed")
MAX_VERIFY = 10_000
_FIELDS = {"health": {"op"}, "advise": {"op", "module", "objective", "verify", "source"}}
_names = itertools.count()


class ServeError(ToolError):
    """The server cannot start (socket path taken, not ours), or cannot be reached."""


class ProtocolError(IrpipeError, ValueError):
    """A message breaks the protocol: bad framing, not JSON, not a valid request or reply."""


class FramingError(ProtocolError):
    """The byte stream cannot be read on (frame too long, cut short): the connection ends."""


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
    """A checked request with defaults filled in; advise's module comes back decoded (bytes).

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
    module = request.get("module")
    if not isinstance(module, str) or not module:
        raise ProtocolError(f"advise: 'module' must be a non-empty base64 string, got {_kind(module)}")
    try:
        raw = base64.b64decode(module, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("advise: 'module' is not valid base64") from None
    objective = request.get("objective", "size")
    if objective not in OBJECTIVES:  # also refuses null, numbers, lists
        raise ProtocolError(f"advise: objective {objective!r}: choose from {', '.join(OBJECTIVES)}")
    verify = request.get("verify", 10)
    if type(verify) is not int or not 1 <= verify <= MAX_VERIFY:  # bool is not an int here
        raise ProtocolError(f"advise: 'verify' must be an integer 1..{MAX_VERIFY}, got {_kind(verify)}")
    source = request.get("source", "")
    if not isinstance(source, str) or len(source) > 4096:
        raise ProtocolError(f"advise: 'source' must be a string (at most 4096 characters), got {_kind(source)}")
    return {"op": op, "module": raw, "objective": objective, "verify": verify, "source": source}


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
    ``timeout_s``, :class:`ProtocolError` when it refuses the request (its error).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        try:
            conn.connect(str(path))
            send(conn, message)
            reply = recv(conn)
        except (TimeoutError, socket.timeout):
            raise ServeError(f"irpipe serve at {path}: no answer within {timeout_s:g} s") from None
        except FramingError as exc:
            raise ServeError(f"irpipe serve at {path}: {exc}") from None
        except OSError as exc:
            raise ServeError(f"cannot reach irpipe serve at {path}: {exc.strerror or exc}") from None
    if reply is None:
        raise ServeError(f"irpipe serve at {path} closed the connection without an answer")
    if reply.get("ok") is not True:
        raise ProtocolError(f"irpipe serve at {path}: {reply.get('error', 'refused without a reason')}")
    return reply


@dataclass(frozen=True)
class Advice:
    """What the model says about one module, all ``irpipe optimize`` needs from it."""

    candidates: list[str]  #: pipelines to compile, the objective's baseline first
    instructions: int      #: IR instructions of the module as given
    has_main: bool         #: whether it defines main (speed runs the program)


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


# --- the socket file ------------------------------------------------------------------


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


def listen_hidden(path: Path) -> tuple[socket.socket, Path]:
    """A socket listening under a temporary 0600 name beside ``path``; (socket, that name).

    The caller starts serving, then :func:`publish` gives it ``path``: a client that
    sees the path can connect (never ECONNREFUSED between bind and listen).
    """
    tmp = path.with_name(f".{os.getpid()}-{next(_names)}.sock~")
    if len(os.fsencode(tmp)) > 107:
        raise ServeError(f"{path}: too long for a Unix socket path (with its temporary name)")
    if os.path.lexists(tmp):  # left by a crashed server that had our pid
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)
        try:
            sock.bind(str(tmp))
        finally:
            os.umask(old)
        os.chmod(tmp, 0o600)
        sock.listen(128)
        sock.settimeout(0.2)
    except BaseException:
        sock.close()
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return sock, tmp


def publish(tmp: Path, path: Path) -> int:
    """Give the listening socket at ``tmp`` the name ``path``, atomically, never replacing a
    file that appeared there meanwhile; the socket file's inode."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ServeError(f"{path} appeared while the server started; not replacing it") from None
    except OSError:  # a file system without hard links: rename (may replace a newcomer)
        os.rename(tmp, path)
    else:
        os.unlink(tmp)
    return os.lstat(path).st_ino
