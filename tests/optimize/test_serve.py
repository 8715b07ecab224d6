"""irpipe serve: 0600 socket, health/stats, batched advice, bad requests, SIGTERM, foreign sockets."""

from __future__ import annotations

import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from irpipe.optimize.serve import recv
from irpipe.testing.serve import ask, start
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR


def module(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    sock = tmp_path_factory.mktemp("serve") / "irpipe.sock"
    proc = start(sock)
    yield sock, proc
    if proc.poll() is None:
        proc.kill()


def test_socket_mode_and_health(server) -> None:
    sock, _ = server
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    (health,) = ask(sock, {"op": "health"})
    assert health["ok"] and health["arch"] == "gnn" and "requests" in health["stats"]


def test_advice_batched_from_many_clients(server) -> None:
    sock, _ = server
    replies: list[dict] = []

    def client(text: str) -> None:
        replies.extend(ask(sock, {"op": "advise", "module": module(text), "objective": "size"}))
    threads = [threading.Thread(target=client, args=(t,)) for t in [SIMPLE_IR, GRAPH_IR] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(replies) == 8 and all(r["ok"] for r in replies)
    assert all(r["pipeline"] in r["candidates"] or r["pipeline"] == "default<Oz>" for r in replies)
    assert all(len(r["candidates"]) == 10 and r["candidates"][0] == "default<Oz>" for r in replies)
    (health,) = ask(sock, {"op": "health"})
    assert health["stats"]["modules"] >= 8 and health["stats"]["batches"] <= health["stats"]["modules"]


def test_bad_requests_get_errors_not_crashes(server) -> None:
    sock, proc = server
    bad_module, bad_op, bad_objective = ask(
        sock, {"op": "advise", "module": module("define i32 @f( {")}, {"op": "explode"},
        {"op": "advise", "module": module(SIMPLE_IR), "objective": "speed"})
    assert not bad_module["ok"] and "bad module" in bad_module["error"]
    assert not bad_op["ok"] and "unknown op" in bad_op["error"]
    assert not bad_objective["ok"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:  # garbage framing
        c.connect(str(sock))
        c.sendall(b"\xff\xff\xff\xffjunk")
        assert "bad request" in recv(c)["error"]
    assert proc.poll() is None and ask(sock, {"op": "health"})[0]["ok"]


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    sock = tmp_path / "s.sock"
    proc = start(sock)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not sock.exists()
    again = start(sock)  # and the path can be served again
    again.terminate()
    assert again.wait(timeout=30) == 0


def test_refuses_paths_that_are_not_its_own(tmp_path: Path) -> None:
    plain = tmp_path / "file"
    plain.write_text("x")
    foreign = tmp_path / "foreign.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(foreign))
    s.close()
    for path, message in ((plain, "is not a socket"), (foreign, "owned by uid 65534")):
        if path is foreign:
            if os.getuid() != 0:
                pytest.skip("chown to another user needs root")
            os.chown(path, 65534, 65534)
        proc = subprocess.run([sys.executable, "-m", "irpipe.cli.main", "serve", "--socket", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and message in proc.stderr
    assert plain.read_text() == "x"


def test_cache_and_record(tmp_path: Path) -> None:
    """A repeated module is answered from the cache; --record writes the answers as advice on stop."""
    from irpipe.optimize import advice

    sock, record = tmp_path / "s.sock", tmp_path / "advice.json"
    proc = start(sock, "--record", str(record))
    try:
        req = {"op": "advise", "module": module(GRAPH_IR), "objective": "size", "source": "g.c"}
        first, second = ask(sock, req, req)
        (health,) = ask(sock, {"op": "health"})
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert first == second and health["stats"]["cache_hits"] == 1 and health["stats"]["modules"] == 2
    (entry,) = advice.read(record)
    assert entry["source"] == "g.c" and entry["pipeline"] == first["pipeline"]
