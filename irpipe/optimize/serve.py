"""``irpipe serve``: the model behind a Unix socket, with batched inference, that never wedges.

The protocol (framing, requests, replies, validation) is :mod:`irpipe.optimize.protocol`.
Requests from all connections are queued and one batch worker runs the model on
batches of up to ``max_batch`` modules, waiting at most ``batch_wait_s`` for a batch
to fill -- and not at all when no other request is on its way (a lone client, such as a
build's one compiler, pays no batching delay).  ``pipeline`` is the policy's first choice when the cost head also predicts
it beats the reference (-Oz), else the reference (advise compiles nothing: the
caller, e.g. the pass plugin, has a strict time budget); ``candidates`` is what
``irpipe optimize`` compiles (speed: in the client, which has the program to run).
Answers (:mod:`irpipe.optimize.answers`) are cached by what the model reads of a module:
a build that compiles each file twice (static and -fPIC) pays one inference; the same
bytes again (a rebuild) are answered from a digest of the bytes, without a parse.
With ``record``, every answer is kept as an advice entry for its source file and
written (atomically) as an advice file on stop.  Op ``optimize`` (``irpipe optimize
--server``) runs the whole command warm on a separate pool with its own LLVM child
and a result cache (:mod:`irpipe.optimize.jobs`): advise answers never wait for a compile.
Op ``loops`` (the pass plugin's live per-loop mode, ``clang -O3 -mllvm -irpipe-objective=speed``)
is answered by the loop policy (numpy, well under a millisecond) on the connection's own thread.

Robustness: every request is validated before it reaches the worker; the worker and
the accept loop survive any exception (logged, one line; the requests of a failed
batch get an error reply); a worker that died anyway (a fatal fault) makes health
answer ``"ok": false`` and advise fail at once, never hang.  Out of file descriptors
(EMFILE), accept backs off and retries.  At most ``max_connections`` clients are
served at once (one more gets a one-line error reply and is closed), and a
connection idle for ``idle_timeout_s`` is closed.

The socket is 0600 and appears only once it accepts: it is bound under a temporary
name, listened on, then linked to its path (refusing a path that appeared meanwhile).
An existing path is refused unless it is a stale socket of ours (no listener).
``stop`` (SIGTERM / SIGINT in the CLI) stops accepting, answers queued requests and
removes the socket file, within a second or two.

    USAGE: server = Server(Predictor.load("models/default"), "/tmp/irpipe.sock"); server.start()
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import socket
import stat
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from irpipe.errors import IrpipeError
from irpipe.optimize.answers import Answers
from irpipe.optimize.jobs import BatchAdviser, Jobs
from irpipe.optimize.protocol import MAX_MESSAGE, FramingError, ProtocolError, ServeError, recv, send, validate
from irpipe.optimize.sockfile import listen_hidden, prepare_socket_path, publish

__all__ = ["MAX_MESSAGE", "ServeError", "Server", "prepare_socket_path", "recv", "send"]

log = logging.getLogger(__name__)
WARM_UP = "define i32 @f(i32 %x) {\n  ret i32 %x\n}\n"
_LOG_EVERY_S = 10.0  # a repeating problem (EMFILE, the cap) is logged at most this often
_WAKE: Any = (None, None)  # queued by stop() to wake the batch worker


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def _line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


class Server:
    """Serve ``predictor`` on a Unix socket at ``path`` (see the module docstring).

    ``optimize_workers`` job threads, one LLVM child each (0: op optimize refused);
    ``optimize_options`` go to :class:`~irpipe.optimize.jobs.Jobs` (queue, cache bounds);
    ``loop_policy`` (a :class:`~irpipe.nn.loop_policy.NumpyLoopPolicy`, or None: op loops refused)
    answers op loops.
    """

    def __init__(self, predictor: Any, path: str | Path, *, max_batch: int = 16,
                 batch_wait_s: float = 0.005, record: str | Path | None = None, cache_size: int = 4096,
                 max_connections: int = 64, idle_timeout_s: float = 60.0, optimize_workers: int = 1,
                 loop_policy: Any = None, **optimize_options: Any):
        self.predictor, self.path, self.loop_policy = predictor, Path(path), loop_policy
        self.record = Path(record) if record else None
        self.answers = Answers(predictor, count=self._count, log=self._log, cache_size=cache_size,
                               record=self.record is not None)
        self.channels: list[Any] = []  # MLGO channels served beside the socket (health reports them)
        self.max_batch, self.batch_wait_s = max_batch, batch_wait_s
        self.max_connections, self.idle_timeout_s = max_connections, idle_timeout_s
        self.requests: "queue.Queue[tuple[dict, queue.Queue]]" = queue.Queue()
        self.stopping = threading.Event()
        self.stats: Counter = Counter(requests=0, errors=0, batches=0, modules=0, cache_hits=0,
                                      digest_hits=0, refused=0, idle_closed=0, optimize_requests=0, optimize_jobs=0,
                                      optimize_cache_hits=0, optimize_busy=0, loop_requests=0, loops_decided=0)
        self.jobs = Jobs(BatchAdviser(self.ask_worker), self._count, self._log, workers=optimize_workers,
                         **optimize_options)
        self.started = time.time()
        self.sock: socket.socket | None = None
        self.worker_error = ""
        self._worker: threading.Thread | None = None
        self._acceptor: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._busy = 0  # connections between a request and its reply
        self._asking = 0  # advise requests announced to the batch worker and not yet taken by it
        self._lock = threading.Lock()
        self._logged: dict[str, float] = {}
        self._inode: int | None = None

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Warm the model up, then bind, listen, start the threads and publish the socket."""
        prepare_socket_path(self.path)
        # warm up (child process, first forward pass) before a client with a deadline arrives
        self.predictor.predict(WARM_UP, name="<warm-up>")
        self.sock, tmp = listen_hidden(self.path)
        try:
            self._worker = threading.Thread(target=self._batches, name="irpipe-serve-batch", daemon=True)
            self._acceptor = threading.Thread(target=self._accept, name="irpipe-serve-accept", daemon=True)
            self._worker.start()
            self.jobs.start()  # its threads warm their LLVM child in the background
            self._acceptor.start()
            self._inode = publish(tmp, self.path)
        except BaseException:
            self.stopping.set()
            self.jobs.stop(wait_s=0.0)
            self.sock.close()
            raise
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def stop(self) -> None:
        """Stop accepting, answer queued requests, close connections, remove the socket file."""
        self.stopping.set()
        try:
            st = os.lstat(self.path)
            if self._inode is not None and st.st_ino == self._inode and stat.S_ISSOCK(st.st_mode):
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept loop now
            except OSError:
                pass
            self.sock.close()
        with self._lock:
            self._asking += 1  # _take counts it off
        self.requests.put(_WAKE)  # wakes the batch worker now (it waits a second at a time)
        self.jobs.stop(wait_s=0.0)  # queued jobs answered "stopping"; a running one gets 2 s below
        for thread, limit in ((self._acceptor, 5.0), (self._worker, 10.0)):
            if thread is not None and thread.ident is not None:
                thread.join(limit)  # the worker drains the queue first (quick when it died)
        self.jobs.stop(wait_s=2.0)
        deadline = time.monotonic() + 2.0
        while self._busy and time.monotonic() < deadline:  # let answered clients get their reply
            time.sleep(0.01)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading an idle client
            except OSError:
                pass
        if self.record is not None:
            from irpipe.optimize import advice

            advice.write(self.record, sorted(self.answers.recorded.values(), key=lambda e: e["source"]))

    @property
    def worker_alive(self) -> bool:
        """Whether the batch worker runs (False once it died, or after stop)."""
        return self._worker is not None and self._worker.is_alive()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _log(self, key: str, message: str) -> None:
        """One warning line; a ``key`` seen in the last 10 s is not repeated."""
        now = time.monotonic()
        with self._lock:
            if now - self._logged.get(key, -_LOG_EVERY_S) < _LOG_EVERY_S:
                return
            self._logged[key] = now
        log.warning("irpipe serve: %s", message.splitlines()[0][:400] if message else key)

    # --- connections --------------------------------------------------------------------

    def _accept(self) -> None:
        """Accept clients until stop; survives any exception (EMFILE: back off and retry)."""
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
                self._admit(conn)
            except (TimeoutError, socket.timeout):
                continue
            except OSError as exc:
                if self.stopping.is_set():
                    return
                name = errno.errorcode.get(exc.errno or 0, "OSError")
                self._log(f"accept-{name}", f"accept failed ({name}: {exc.strerror or exc}); retrying")
                self.stopping.wait(0.1)  # EMFILE repeats until a descriptor is freed
            except Exception as exc:  # noqa: BLE001 -- a bug here must not end the server; logged
                self._log(f"accept-{type(exc).__name__}", f"accept loop: {_line(exc)}; retrying")
                self.stopping.wait(0.1)

    def _admit(self, conn: socket.socket) -> None:
        """Serve ``conn`` on its own thread, or refuse it with one error line at the cap."""
        with self._lock:
            full = len(self._conns) >= self.max_connections
            if not full:
                self._conns.add(conn)
        if full:
            self._count("refused")
            self._log("cap", f"{self.max_connections} connections open: refusing new clients")
            try:
                conn.settimeout(1.0)
                send(conn, _error(f"too many connections ({self.max_connections} open); try again later"))
            except OSError:
                pass
            conn.close()
            return
        try:
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()
        except BaseException:
            with self._lock:
                self._conns.discard(conn)
            conn.close()
            raise

    def _connection(self, conn: socket.socket) -> None:
        """Answer the requests of one client until it closes, idles out or breaks the framing."""
        try:
            while not self.stopping.is_set():
                try:
                    request = recv(conn, idle_s=self.idle_timeout_s)
                except (TimeoutError, socket.timeout):
                    self._count("idle_closed")
                    return
                except ProtocolError as exc:  # a bad frame: answer; go on unless the framing broke
                    self._count("errors")
                    conn.settimeout(self.idle_timeout_s)
                    send(conn, _error(f"bad request: {exc}"))
                    if isinstance(exc, FramingError):
                        return
                    continue
                if request is None:
                    return
                with self._lock:
                    self.stats["requests"] += 1
                    self._busy += 1
                try:
                    answer = self._answer(request)
                    conn.settimeout(self.idle_timeout_s)  # a client that stops reading is let go
                    send(conn, answer)
                finally:
                    with self._lock:
                        self._busy -= 1
        except OSError:
            return  # the client went away (or stopped reading past the idle time-out)
        except Exception as exc:  # noqa: BLE001 -- a bug costs this connection only; logged
            self._log(f"conn-{type(exc).__name__}", f"connection handler: {_line(exc)}")
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            req = validate(request)
        except ProtocolError as exc:
            self._count("errors")
            return _error(str(exc))
        if req["op"] == "health":
            return self._health()
        if req["op"] == "optimize":
            return self.jobs.answer(req)
        if req["op"] == "loops":
            return self._loops(req)
        return self.ask_worker(req)

    def _loops(self, req: dict[str, Any]) -> dict[str, Any]:
        """The loop policy's decisions for one function's loop listing."""
        self._count("loop_requests")
        if self.loop_policy is None:
            self._count("errors")
            return _error("no loop policy loaded (irpipe serve --loop-model DIR)")
        try:
            loops = self.loop_policy.advice(req["loops"], unroll_and_jam=req["unroll_and_jam"],
                                            distribute=req["distribute"])
        except IrpipeError as exc:  # e.g. a listing without the body facts the model reads
            self._count("errors")
            return _error(f"loops: {exc}")
        self._count("loops_decided", len(loops))
        return {"ok": True, "loops": loops}

    def ask_worker(self, req: dict[str, Any]) -> dict[str, Any]:
        """The batch worker's reply to a validated advise request (an error if it cannot answer)."""
        if self.stopping.is_set():
            return _error("the server is stopping")
        if not self.worker_alive:
            self._count("errors")
            return _error(f"the batch worker died ({self.worker_error}); restart irpipe serve")
        reply: "queue.Queue[dict]" = queue.Queue(maxsize=1)
        with self._lock:
            self._asking += 1  # before the put: the worker never sees the request uncounted
        self.requests.put((req, reply))
        while True:
            try:
                return reply.get(timeout=0.25)
            except queue.Empty:
                if not self.worker_alive:  # it died with our request queued: no answer will come
                    if not reply.empty():
                        return reply.get_nowait()
                    self._count("errors")
                    return _error(f"the batch worker died ({self.worker_error or 'stopped'})")

    def _health(self) -> dict[str, Any]:
        alive = self.worker_alive
        with self._lock:
            stats = {**self.stats, "uptime_s": round(time.time() - self.started, 3),
                     "started": self.started}
            connections = len(self._conns)
        out = {"ok": alive and not self.stopping.is_set(), "model": str(self.predictor.directory),
               "arch": self.predictor.arch,
               "worker": "alive" if alive else f"dead: {self.worker_error or 'stopped'}",
               "connections": connections, "max_connections": self.max_connections, "stats": stats,
               "optimize": self.jobs.health(),
               "loop_model": getattr(self.loop_policy, "directory", None),
               "channels": {str(c.base): {"kind": c.policy.kind, **c.stats} for c in self.channels}}
        if not out["ok"]:
            out["error"] = "stopping" if self.stopping.is_set() else f"the batch worker died ({self.worker_error})"
        return out

    # --- the batch worker ---------------------------------------------------------------

    def _batches(self) -> None:
        try:
            self._batch_loop()
        except BaseException as exc:  # noqa: BLE001 -- a fatal fault: recorded for health, not re-raised
            self.worker_error = _line(exc)
            log.error("irpipe serve: the batch worker died (%s); health now reports not ok", self.worker_error)

    def _batch_loop(self) -> None:
        while not self.stopping.is_set() or not self.requests.empty():
            try:
                batch = [self._take(1.0)]  # idle: a wake-up a second (stop() wakes it at once)
            except queue.Empty:
                continue
            deadline = time.monotonic() + self.batch_wait_s
            while len(batch) < self.max_batch:
                if not self._asking:
                    break  # no other request is on its way: waiting would only delay this batch
                try:
                    batch.append(self._take(max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            batch = [item for item in batch if item is not _WAKE]
            if not batch:
                continue
            try:
                self._run(batch)
            except Exception as exc:  # noqa: BLE001 -- the batch's clients get the error; logged
                self._count("errors", len(batch))
                self._log(f"batch-{type(exc).__name__}", f"a batch of {len(batch)} failed: {_line(exc)}")
                for _, reply in batch:
                    if reply.empty():
                        reply.put_nowait(_error(f"internal error: {_line(exc)}"))

    def _take(self, timeout: float) -> tuple[dict, "queue.Queue[dict]"]:
        """The next queued request (``queue.Empty`` after ``timeout``), no longer counted as asking."""
        item = self.requests.get(timeout=timeout)
        with self._lock:
            self._asking -= 1
        return item

    def _run(self, batch: list[tuple[dict, "queue.Queue[dict]"]]) -> None:
        for (_, reply), answer in zip(batch, self.answers.batch([request for request, _ in batch])):
            reply.put_nowait(answer)
