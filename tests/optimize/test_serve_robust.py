"""irpipe serve never wedges: validation, bad frames, nesting, faults in the worker and in accept,
the connection cap, the idle time-out, atomic 0600 socket.  In-process servers on a fake model."""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import socket
import stat
import struct
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from irpipe.nn.loop_policy import NumpyLoopPolicy
from irpipe.optimize.protocol import ServeError, recv, send
from irpipe.optimize.serve import Server
from irpipe.paths import model_dir
from irpipe.schema import LOOP_BODY_FACTS
from irpipe.testing.serve import FakePredictor, ask, ask_raw

MODULE = base64.b64encode(b"define i32 @f(i32 %x) {\n  ret i32 %x\n}\n").decode()
ADVISE = {"op": "advise", "module": MODULE}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(**options)``: a started in-process server on a fake model (no optimize worker unless
    asked: it would start an LLVM child), stopped at the end."""
    servers: list[Server] = []

    def make(**options: Any) -> Server:
        options.setdefault("optimize_workers", 0)
        server = Server(FakePredictor(), tmp_path / f"s{len(servers)}.sock", **options)
        server.start()
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.stop()


def connect(server: Server) -> socket.socket:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(str(server.path))
    return c


def exchange(c: socket.socket, message: dict) -> dict | None:
    send(c, message)
    return recv(c)


def closed(c: socket.socket) -> bool:
    """Whether the server closed ``c`` (a reset counts: it closed with our bytes unread)."""
    try:
        return c.recv(1) == b""
    except ConnectionResetError:
        return True


def serve_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "irpipe.optimize.serve"]


LOOP = {"id": "f/L0", "depth": 1, "blocks": 2, "trip_count": None, "strict_fp_reduction": False,
        "strict_fp_induction": False, **{k: 1 for k in LOOP_BODY_FACTS}}
BAD = [  # (request, a word the error must contain)
    ({**ADVISE, "verify": "abc"}, "verify"), ({**ADVISE, "verify": None}, "verify"),
    ({**ADVISE, "verify": 2.5}, "verify"), ({**ADVISE, "verify": True}, "verify"),
    ({**ADVISE, "verify": 0}, "verify"), ({**ADVISE, "verify": [3]}, "verify"),
    ({**ADVISE, "verify": {"n": 3}}, "verify"), ({**ADVISE, "objective": None}, "objective"),
    ({**ADVISE, "objective": 3}, "objective"), ({**ADVISE, "objective": "fast"}, "objective"),
    ({"op": "advise"}, "module"), ({"op": "advise", "module": None}, "module"),
    ({"op": "advise", "module": 5}, "module"), ({"op": "advise", "module": ""}, "module"),
    ({"op": "advise", "module": "not base64!"}, "base64"), ({**ADVISE, "source": 7}, "source"),
    ({**ADVISE, "source": None}, "source"), ({**ADVISE, "extra": 1}, "unknown field"),
    ({"op": "health", "verbose": True}, "unknown field"), ({}, "op"), ({"op": None}, "op"),
    ({"op": ["advise"]}, "op"), ({"op": "explode"}, "op"),
    ({"op": "optimize"}, "module"), ({"op": "optimize", "module": MODULE, "objective": "speed"}, "advise"),
    ({"op": "optimize", "module": MODULE, "verify": 0}, "verify"),
    ({"op": "optimize", "module": MODULE, "target": "x86_64"}, "target"),
    ({"op": "optimize", "module": MODULE, "target": None}, "target"),
    ({"op": "optimize", "module": MODULE, "target": {"cpu": "x86-64"}}, "target"),
    ({"op": "optimize", "module": MODULE, "target": {"target_cpu": "-mcpu=x; rm -rf /"}}, "target_cpu"),
    ({"op": "optimize", "module": MODULE, "target": {"mtriple": 5}}, "mtriple"),
    ({"op": "optimize", "module": MODULE, "target": {"strip_optnone": "yes"}}, "strip_optnone"),
    ({"op": "optimize", "module": MODULE, "text": 1}, "text"),
    ({"op": "optimize", "module": MODULE, "advice": None}, "advice"),
    ({"op": "optimize", "module": MODULE, "pipeline": "default<O3>"}, "unknown field"),
    ({"op": "loops"}, "'loops' must be a list"), ({"op": "loops", "loops": {"f/L0": {}}}, "'loops' must be a list"),
    ({"op": "loops", "loops": [LOOP, LOOP]}, "'id' must be a new loop id"),
    ({"op": "loops", "loops": [{**LOOP, "id": "f"}]}, "'id' must be a new loop id"),
    ({"op": "loops", "loops": [{**LOOP, "id": "f/L01"}]}, "'id' must be a new loop id"),
    ({"op": "loops", "loops": [{**LOOP, "depth": -1}]}, "'depth' must be"),
    ({"op": "loops", "loops": [{**LOOP, "loads": 1.5}]}, "'loads' must be"),
    ({"op": "loops", "loops": [{**LOOP, "trip_count": 0}]}, "'trip_count'"),
    ({"op": "loops", "loops": [{**LOOP, "strict_fp_reduction": 1}]}, "strict_fp_reduction"),
    ({"op": "loops", "loops": [{**LOOP, "shape": "nice"}]}, "unknown field 'shape'"),
    ({"op": "loops", "loops": [LOOP], "unroll_and_jam": "yes"}, "unroll_and_jam"),
    ({"op": "loops", "loops": [LOOP] * 1025}, "at most 1024"), ({"op": "loops", "loops": [3]}, "not an object"),
]


def test_every_field_is_validated_and_the_worker_lives(serve) -> None:
    server = serve()
    with connect(server) as c:
        for request, word in BAD:
            reply = exchange(c, request)
            assert reply["ok"] is False and word in reply["error"], (request, reply)
        good = exchange(c, {**ADVISE, "verify": 3, "objective": "instcount", "source": "a.c"})
        health = exchange(c, {"op": "health"})
    assert good["ok"] and good["candidates"][0] == "default<Oz>" and len(good["candidates"]) == 3
    assert good["instructions"] == 3 and good["has_main"] is False and good["pipeline"]
    assert health["ok"] and health["worker"] == "alive" and health["stats"]["errors"] == len(BAD)


def test_speed_answers_candidates_without_a_pipeline(serve) -> None:
    main = base64.b64encode(b"define i32 @main() {\n  ret i32 0\n}\n").decode()
    (reply,) = ask(serve().path, {"op": "advise", "module": main, "objective": "speed", "verify": 3})
    assert reply["ok"] and reply["has_main"] and "pipeline" not in reply
    assert reply["candidates"][0] == "default<O3>" and len(reply["candidates"]) == 3


def test_non_objects_bad_json_and_frames(serve) -> None:
    server = serve()
    with connect(server) as c:  # complete frames that are not requests: answered, connection kept
        for body in (b"[1, 2]", b'"advise"', b"null", b"42", b"{bad json", b"\xff\xfe{}"):
            c.sendall(struct.pack(">I", len(body)) + body)
            reply = recv(c)
            assert reply["ok"] is False and "bad request" in reply["error"], body
        assert exchange(c, {"op": "health"})["ok"]
    with connect(server) as c:  # a frame over the limit breaks the framing: answered, then closed
        c.sendall(b"\xff\xff\xff\xffjunk")
        assert "over the" in recv(c)["error"]
        assert closed(c)
    with connect(server) as c:  # cut short: the server just closes
        c.sendall(struct.pack(">I", 100) + b"{}")
        c.shutdown(socket.SHUT_WR)
        assert recv(c)["ok"] is False
    assert ask(server.path, {"op": "health"})[0]["ok"]


def test_deep_nesting_is_refused(serve) -> None:
    server = serve()
    deep = b"[" * 100_000 + b"]" * 100_000
    assert "nested deeper" in ask_raw(server.path, deep)["error"]
    assert "nested deeper" in ask_raw(server.path, b'{"op": "health", "x": ' + b"[" * 40 + b"]" * 40 + b"}")["error"]
    nested_ok = json.dumps({"op": "health", "x": [[[1]]]}).encode()
    assert "unknown field" in ask_raw(server.path, nested_ok)["error"]  # shallow: reaches validation
    assert ask(server.path, {"op": "health"})[0]["ok"]


def test_worker_survives_an_exception(serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve()
    real, calls = server.predictor.predict_inputs, []

    def flaky(inputs: list, batch_size: int = 16) -> list:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected\nsecond line")
        return real(inputs, batch_size)
    server.predictor.predict_inputs = flaky
    with caplog.at_level(logging.WARNING):
        first, second, health = ask(server.path, ADVISE, ADVISE, {"op": "health"})
    assert not first["ok"] and "RuntimeError: injected" in first["error"]
    assert second["ok"] and health["ok"] and health["worker"] == "alive"
    (line,) = [m for m in serve_lines(caplog) if "injected" in m]
    assert "\n" not in line and "second line" not in line


class Fault(BaseException):
    """A fatal fault (like SystemExit) that gets past every ``except Exception``."""


def test_a_dead_worker_is_reported_and_nothing_hangs(serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve()

    def die(batch: list) -> None:
        raise Fault("worker killed by the test")
    server._run = die
    with caplog.at_level(logging.WARNING):
        with connect(server) as c:
            first = exchange(c, ADVISE)  # its batch kills the worker: answered, not left hanging
            later = exchange(c, ADVISE)
            health = exchange(c, {"op": "health"})
    assert not first["ok"] and "worker died" in first["error"]
    assert not later["ok"] and "worker died" in later["error"] and "Fault" in later["error"]
    assert health["ok"] is False and health["worker"].startswith("dead: Fault")
    assert any("batch worker died" in m for m in serve_lines(caplog))
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 10 and not server.path.exists()


def test_accept_survives_emfile_and_errors(serve, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server = serve()
    real, faults = socket.socket.accept, [OSError(errno.EMFILE, os.strerror(errno.EMFILE)),
                                          RuntimeError("accept bug")]

    def accept(self: socket.socket) -> Any:
        if faults:
            raise faults.pop(0)
        return real(self)
    with caplog.at_level(logging.WARNING):
        monkeypatch.setattr(socket.socket, "accept", accept)
        deadline = time.monotonic() + 30  # the loop polls accept every 0.2 s: both faults hit it
        while faults and time.monotonic() < deadline:
            time.sleep(0.01)
        (health,) = ask(server.path, {"op": "health"})
    assert health["ok"] and not faults
    lines = serve_lines(caplog)
    assert any("EMFILE" in m for m in lines) and any("accept bug" in m for m in lines)
    assert all("\n" not in m for m in lines)


def test_loops_are_answered_by_the_loop_policy(serve) -> None:
    policy = NumpyLoopPolicy.load(model_dir("loop-decisions"))
    inner = {**LOOP, "id": "f/L0.0", "depth": 2, "trip_count": 64}
    listing = [{**LOOP, "trip_count": 64}, inner]
    with connect(serve(loop_policy=policy)) as c, connect(serve()) as without:
        reply = exchange(c, {"op": "loops", "loops": listing})
        assert reply == {"ok": True, "loops": policy.advice(listing)}
        no_jam = exchange(c, {"op": "loops", "loops": listing, "unroll_and_jam": False})["loops"]
        assert all("unroll_and_jam" not in d for d in no_jam.values())
        assert exchange(c, {"op": "loops", "loops": []}) == {"ok": True, "loops": {}}
        health = exchange(c, {"op": "health"})
        assert health["loop_model"] == policy.directory and health["stats"]["loop_requests"] == 3
        refused = exchange(without, {"op": "loops", "loops": listing})
        assert not refused["ok"] and "no loop policy loaded" in refused["error"]


def test_connection_cap(serve) -> None:
    server = serve(max_connections=2)
    a, b = connect(server), connect(server)
    try:
        assert exchange(a, {"op": "health"})["ok"] and exchange(b, {"op": "health"})["ok"]
        with connect(server) as extra:  # one line, then the server closes it
            reply = recv(extra)
            assert not reply["ok"] and "too many connections" in reply["error"]
            assert closed(extra)
        health = exchange(a, {"op": "health"})  # the others are still served
        assert health["connections"] == 2 and health["stats"]["refused"] == 1
        assert exchange(b, ADVISE)["ok"]
    finally:
        a.close()
    deadline = time.monotonic() + 30  # a's slot frees once its thread sees the close: ask b
    while exchange(b, {"op": "health"})["connections"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    with connect(server) as c:  # now a new client gets a slot
        reply = exchange(c, {"op": "health"})
    b.close()
    assert reply["ok"]


def test_idle_connections_are_closed(serve) -> None:
    server = serve(idle_timeout_s=0.5)
    with connect(server) as idle, connect(server) as stalled:
        assert exchange(idle, {"op": "health"})["ok"]
        stalled.sendall(b"\x00\x00")  # half a header, then nothing
        assert closed(idle) and closed(stalled)  # closed (within the 30 s client timeout)
    assert ask(server.path, {"op": "health"})[0]["stats"]["idle_closed"] == 2


def test_socket_appears_only_when_it_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sock"
    seen: dict[str, Any] = {}
    real = socket.socket.listen

    def slow_listen(self: socket.socket, *args: Any) -> None:
        seen["path_at_listen"] = os.path.lexists(path)
        time.sleep(0.3)  # a client polling for the path must not get ECONNREFUSED meanwhile
        real(self, *args)
    monkeypatch.setattr(socket.socket, "listen", slow_listen)

    def poller() -> None:
        while not path.exists():
            time.sleep(0.001)
        seen["mode"] = stat.S_IMODE(path.stat().st_mode)
        try:
            seen["health"] = ask(path, {"op": "health"})[0]["ok"]
        except OSError as exc:
            seen["health"] = exc
    t = threading.Thread(target=poller)
    t.start()
    server = Server(FakePredictor(), path)
    server.start()
    t.join(30)
    try:
        assert seen == {"path_at_listen": False, "mode": 0o600, "health": True}
    finally:
        server.stop()
    assert list(tmp_path.iterdir()) == []  # no socket, no temporary name left


def test_a_path_that_appears_meanwhile_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sock"
    real = socket.socket.listen

    def racing_listen(self: socket.socket, *args: Any) -> None:
        path.write_text("someone else's")
        real(self, *args)
    monkeypatch.setattr(socket.socket, "listen", racing_listen)
    with pytest.raises(ServeError, match="appeared while"):
        Server(FakePredictor(), path).start()
    assert path.read_text() == "someone else's" and [p.name for p in tmp_path.iterdir()] == ["s.sock"]


def test_stop_is_quick_with_clients_connected(serve) -> None:
    server = serve(idle_timeout_s=600)
    clients = [connect(server) for _ in range(5)]
    assert all(exchange(c, {"op": "health"})["ok"] for c in clients)
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 10
    assert all(closed(c) for c in clients) and not server.path.exists()
    for c in clients:
        c.close()
