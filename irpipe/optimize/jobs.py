"""``irpipe serve``'s optimize jobs: the whole of ``irpipe optimize`` done in the warm server.

Op ``optimize`` (:mod:`irpipe.optimize.protocol`) runs :func:`irpipe.optimize.apply.optimize`
on a small pool of job threads, apart from the batch thread that answers ``advise``: a
compile never delays the pass plugin's answers.  Each job thread owns ``compile_children``
isolated LLVM children (:class:`~irpipe.llvm.isolate.Isolated`, started and warmed when the
pool starts), so compiles never queue behind the batch thread's parses in the process-wide child.  The
job's one model call goes to the batch worker like any advise request
(:class:`BatchAdviser`): the model stays on one thread and shares its answer cache.

A job checks the module in its first child and compiles the candidates side by side in its
children; every evaluation runs in a fresh LLVMContext, so the reply -- pipeline, metrics,
``tried``, the output bytes -- is what ``irpipe optimize`` computes in-process with one child
(tested).  Each child takes the next candidate when it is free, beside the -Oz baseline: on this
2-core machine a 1k-instruction module's job (size) takes 0.22 s with two children, 0.33 s before
the baseline ran beside the candidates; on two busy cores more children are no faster.

The queue is bounded (``queue_size``): past it a request gets ``{"ok": false, "busy": true}``
at once and the client does the work itself.  Finished jobs are kept in an LRU cache keyed by
(sha256 of the module bytes, objective, verify, target), bounded by entries and bytes: an
unchanged module (a rebuild) is answered without compiling.  Health counts
``optimize_requests``, ``optimize_jobs``, ``optimize_cache_hits`` and ``optimize_busy``.

    USAGE: jobs = Jobs(BatchAdviser(server.ask_worker), server._count, server._log); jobs.start()
           reply = jobs.answer(validate(request))
"""

from __future__ import annotations

import base64
import hashlib
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from irpipe.errors import IrpipeError, IRError
from irpipe.optimize.protocol import Advice

WARM_UP = "define i32 @f(i32 %x) {\n  ret i32 %x\n}\n"
_WAKE: tuple[Any, Any, Any] = ({}, (), None)  # queued by stop() to wake an idle job thread


def _error(message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": message, **extra}


def _line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return text[0][:400] if text else type(exc).__name__


class BatchAdviser:
    """The server's batch worker as an :class:`~irpipe.optimize.protocol.Adviser`: a job's model
    call is one more advise request (not recorded by ``--record``: the job's answer is its own)."""

    def __init__(self, ask: Callable[[dict[str, Any]], dict[str, Any]]):
        self.ask = ask

    def advise(self, module: bytes, *, objective: str = "size", verify: int = 10,
               name: str = "<module>") -> Advice:
        """The batch worker's :class:`Advice` for ``module``; :class:`IRError` with its error."""
        reply = self.ask({"op": "advise", "module": module, "objective": objective, "verify": max(verify, 1),
                          "source": name[-4096:], "record": False})
        if reply.get("ok") is not True:
            raise IRError(str(reply.get("error", "the model gave no answer")))
        return Advice(reply["candidates"], reply["instructions"], reply["has_main"])


@dataclass
class Done:
    """A finished job: the result, and what the input's advice entry needs (filled on demand)."""

    result: Any  # an irpipe.optimize.apply.OptimizeResult
    info: tuple[str, str] | None = None  # (structural hash, source_filename) of the input


class ResultCache:
    """Finished jobs, least recently used dropped first past ``size`` entries or ``max_bytes``."""

    def __init__(self, size: int = 64, max_bytes: int = 256 << 20):
        self.size, self.max_bytes = size, max_bytes
        self._items: "OrderedDict[tuple, Done]" = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> Done | None:
        """The entry under ``key`` (now the most recent), or None."""
        with self._lock:
            done = self._items.get(key)
            if done is not None:
                self._items.move_to_end(key)
            return done

    def put(self, key: tuple, done: Done) -> None:
        """Keep ``done`` under ``key``; drop the oldest entries past the bounds."""
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old.result.bitcode) if old else 0
            self._items[key] = done
            self._bytes += len(done.result.bitcode)
            while self._items and (len(self._items) > self.size or self._bytes > self.max_bytes):
                self._bytes -= len(self._items.popitem(last=False)[1].result.bitcode)


def cache_key(req: dict[str, Any]) -> tuple:
    """(sha256 of the module bytes, objective, verify, target) of a validated optimize request."""
    t = req["target"]
    return (hashlib.sha256(req["module"]).hexdigest(), req["objective"], req["verify"],
            t["triple"], t["cpu"], t["strip_optnone"])


def run_job(req: dict[str, Any], adviser: Any, children: Sequence[Any], timeout_s: float = 60.0) -> Any:
    """What ``irpipe optimize`` does in a new process for a validated optimize request: check the
    module in the first isolated child (each evaluation runs in a fresh LLVMContext, so what
    earlier jobs ran cannot change this one's bytes), then :func:`~irpipe.optimize.apply.optimize`
    with the candidates compiled side by side in ``children`` (the same result as in one)."""
    child = children[0]
    from irpipe.label.measure import Evaluator, Target
    from irpipe.optimize.apply import optimize

    name, t = req["source"] or "<module>", req["target"]
    Evaluator(req["module"], name=name, worker=child).check()
    return optimize(req["module"], adviser, objective=req["objective"], verify=req["verify"], name=name,
                    timeout_s=timeout_s, target=Target(t["triple"], t["cpu"], t["strip_optnone"]), worker=child,
                    workers=children)


def reply_of(done: Done, req: dict[str, Any], *, cached: bool, started: float) -> dict[str, Any]:
    """The wire reply for ``done``: the summary (``seconds`` this request's when ``cached``), the
    bitcode, and the IR text / advice entry when asked (what the command writes); an error reply
    when those cannot be made."""
    try:
        return _reply(done, req, cached=cached, seconds=time.monotonic() - started)
    except IrpipeError as exc:
        return _error(_line(exc))


def _reply(done: Done, req: dict[str, Any], *, cached: bool, seconds: float) -> dict[str, Any]:
    from irpipe.llvm import ir

    result, name = done.result, req["source"] or "<module>"
    out = {"ok": True, **result.summary(), "bitcode": base64.b64encode(result.bitcode).decode(), "cached": cached}
    if cached:
        out["seconds"] = round(seconds, 3)
    if req["text"]:
        out["text"] = ir.to_text(result.bitcode, name=name)
    if req["advice"]:
        from irpipe.optimize import advice

        if done.info is None:
            info = ir.inspect(req["module"], name=name)
            done.info = (info.structural_hash, info.source_filename)
        out["advice"] = advice.optimized_advice(result, done.info[0], done.info[1] or name)
    return out


class Jobs:
    """The optimize pool of one server (see the module docstring).

    Args:
        adviser: answers each job's model call (:class:`BatchAdviser`).
        count: ``count(stat, n)`` adds to the server's health stats.
        log: ``log(key, line)`` logs one rate-limited warning.
        workers: job threads (0: op optimize is refused).
        compile_children: isolated LLVM children per job thread; a job's candidates compile
            side by side in them (2: the two cores of a small machine).
        queue_size: jobs waiting at most; one more is answered busy.
        cache_size, cache_bytes: bounds of the result cache.
    """

    def __init__(self, adviser: Any, count: Callable[..., None], log: Callable[[str, str], None], *,
                 workers: int = 1, queue_size: int = 32, cache_size: int = 64, cache_bytes: int = 256 << 20,
                 compile_children: int = 2):
        self.adviser, self.count, self.log = adviser, count, log
        self.workers, self.compile_children = workers, max(1, compile_children)
        self.queue: "queue.Queue[tuple[dict, tuple, queue.Queue]]" = queue.Queue(maxsize=queue_size)
        self.cache = ResultCache(cache_size, cache_bytes)
        self.stopping = threading.Event()
        self.running = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the job threads; each warms its child (in the background) before its first job."""
        from irpipe.llvm.isolate import Isolated

        for i in range(self.workers):
            children = tuple(Isolated() for _ in range(self.compile_children))
            thread = threading.Thread(target=self._loop, args=(children,), name=f"irpipe-serve-optimize-{i}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, wait_s: float = 2.0) -> None:
        """Refuse queued jobs, let a running one finish for ``wait_s`` (each thread stops its child
    as it ends: one in a long compile ends later, or with this process)."""
        self.stopping.set()
        while True:
            try:
                _, _, reply = self.queue.get_nowait()
            except queue.Empty:
                break
            if reply is not None:
                reply.put_nowait(_error("the server is stopping"))
        for _ in self._threads:  # wake each idle job thread now (they wait a second at a time)
            try:
                self.queue.put_nowait(_WAKE)
            except queue.Full:
                break
        deadline = time.monotonic() + wait_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def alive(self) -> bool:
        """Whether a job thread runs."""
        return any(t.is_alive() for t in self._threads)

    def health(self) -> dict[str, Any]:
        """Workers alive, queued and running jobs, cached results."""
        return {"workers": sum(t.is_alive() for t in self._threads), "queued": self.queue.qsize(),
                "running": self.running, "cached": len(self.cache)}

    def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        """The reply to a validated optimize request: from the cache, else from a job thread."""
        started = time.monotonic()
        self.count("optimize_requests")
        key = cache_key(req)
        done = self.cache.get(key)
        if done is not None:
            self.count("optimize_cache_hits")
            return reply_of(done, req, cached=True, started=started)
        if self.stopping.is_set() or not self.alive:
            return _error("no optimize worker runs in this server (stopping, or started without one)")
        reply: "queue.Queue[dict]" = queue.Queue(maxsize=1)
        try:
            self.queue.put_nowait((req, key, reply))
        except queue.Full:
            self.count("optimize_busy")
            return _error(f"busy: {self.queue.maxsize} optimize jobs are queued; do this one yourself", busy=True)
        while True:
            try:
                return reply.get(timeout=0.25)
            except queue.Empty:
                if not self.alive and reply.empty():  # stopped with our job unanswered
                    return _error("the optimize worker stopped before answering")

    def _loop(self, children: tuple[Any, ...]) -> None:
        try:
            for child in children:
                self._warm(child)
            self._serve(children)
        finally:
            for child in children:
                child.close()

    def _warm(self, child: Any) -> None:
        """Spawn the child and load LLVM and its code generator now, not in the first client's job."""
        from irpipe.label.measure import Evaluator

        try:
            Evaluator(WARM_UP, name="<warm-up>", worker=child).evaluate("default<Oz>", object_file=True,
                                                                         bitcode=True)
        except Exception as exc:  # noqa: BLE001 -- costs the first job some time, not the worker; logged
            self.log("optimize-warm-up", f"optimize worker warm-up: {type(exc).__name__}: {_line(exc)}")

    def _serve(self, children: tuple[Any, ...]) -> None:
        """Run queued jobs until stop (a bug costs one job's reply, never the thread)."""
        while not self.stopping.is_set():
            try:
                req, key, reply = self.queue.get(timeout=1.0)  # idle: a wake-up a second
            except queue.Empty:
                continue
            if reply is None:  # stop()'s wake-up
                continue
            with self._lock:
                self.running += 1
            try:
                reply.put_nowait(self._job(req, key, children))
            except Exception as exc:  # noqa: BLE001 -- a bug costs this job's reply; logged
                self.count("errors")
                self.log(f"optimize-{type(exc).__name__}", f"optimize job: {type(exc).__name__}: {_line(exc)}")
                if reply.empty():
                    reply.put_nowait(_error(f"internal error: {type(exc).__name__}: {_line(exc)}"))
            finally:
                with self._lock:
                    self.running -= 1

    def _job(self, req: dict[str, Any], key: tuple, children: tuple[Any, ...]) -> dict[str, Any]:
        started = time.monotonic()
        done = self.cache.get(key)  # a twin request may have finished while this one queued
        if done is not None:
            self.count("optimize_cache_hits")
            return reply_of(done, req, cached=True, started=started)
        try:
            done = Done(run_job(req, self.adviser, children))
        except IrpipeError as exc:  # a module LLVM cannot read, opt-22 failing: one line
            self.count("errors")
            return _error(_line(exc))
        self.cache.put(key, done)
        self.count("optimize_jobs")
        return reply_of(done, req, cached=False, started=started)
