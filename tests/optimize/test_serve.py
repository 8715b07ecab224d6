"""irpipe serve as a process with the real model: 0600 socket, health/stats, batched advice, bad
requests, SIGTERM, foreign sockets, a real EMFILE, and ``irpipe optimize --server``.  The fault
injection tests (dead worker, cap, idle time-out, nesting) are in test_serve_robust.py."""

from __future__ import annotations

import base64
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from irpipe.optimize.serve import recv, send
from irpipe.testing.serve import ask, log_of, start
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
        {"op": "advise", "module": module(SIMPLE_IR), "objective": "fast"})
    assert not bad_module["ok"] and "bad module" in bad_module["error"]
    assert not bad_op["ok"] and "unknown op" in bad_op["error"]
    assert not bad_objective["ok"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:  # garbage framing
        c.connect(str(sock))
        c.sendall(b"\xff\xff\xff\xffjunk")
        assert "bad request" in recv(c)["error"]
    assert proc.poll() is None and ask(sock, {"op": "health"})[0]["ok"]


def test_wedging_requests_then_sigterm_stops_quickly(tmp_path: Path) -> None:
    """The requests that used to kill the batch thread are refused; the server answers on and
    SIGTERM ends it in seconds, not the 12 s of a wedged queue."""
    sock = tmp_path / "s.sock"
    proc = start(sock)
    req = {"op": "advise", "module": module(SIMPLE_IR)}
    replies = ask(sock, {**req, "verify": "abc"}, {**req, "verify": None}, {**req, "objective": None},
                  {**req, "source": ["x"]}, req, {"op": "health"})
    assert [r["ok"] for r in replies] == [False] * 4 + [True, True]
    assert "verify" in replies[0]["error"] and replies[-1]["worker"] == "alive"
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # an idle client does not hold it up
    idle.connect(str(sock))
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0  # generous: it takes about a second
    idle.close()
    assert not sock.exists() and time.monotonic() - t0 < 10
    assert "Traceback" not in log_of(sock).read_text()
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


def test_accept_recovers_from_a_real_emfile(server) -> None:
    """Out of descriptors (RLIMIT_NOFILE lowered under the running server), accept logs one line and
    retries; a client waiting meanwhile is answered once descriptors are back."""
    sock, proc = server
    time.sleep(0.5)  # connections of earlier tests finish closing
    fds = {int(n) for n in os.listdir(f"/proc/{proc.pid}/fd")}
    lowest_free = min(set(range(len(fds) + 1)) - fds)
    limits = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (lowest_free, limits[1]))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(60)
            c.connect(str(sock))  # queued in the backlog: the server cannot accept it yet
            send(c, {"op": "health"})
            deadline = time.monotonic() + 30
            while "EMFILE" not in log_of(sock).read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, limits)
            assert recv(c)["ok"]
    finally:
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, limits)
    lines = [ln for ln in log_of(sock).read_text().splitlines() if "EMFILE" in ln]
    assert len(lines) == 1 and "accept failed" in lines[0] and proc.poll() is None
    assert ask(sock, {"op": "health"})[0]["ok"]


NO_TORCH = ("import sys; from irpipe.cli.main import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")


def test_optimize_through_the_server_matches_in_process(server, tmp_path: Path) -> None:
    """``optimize --server`` (the server does the job; no torch in the client) compiles the same
    candidates as the in-process path and picks the same pipeline (byte for byte: test_serve_optimize)."""
    sock, _ = server
    src = tmp_path / "g.ll"
    src.write_text(GRAPH_IR)
    runs = {}
    for how, argv in (("local", ["-m", "irpipe.cli.main"]), ("server", ["-c", NO_TORCH])):
        extra = ["--server", str(sock)] if how == "server" else []
        runs[how] = subprocess.run([sys.executable, *argv, "optimize", str(src), "--json",
                                    "--objective", "instcount", "--verify", "6", *extra],
                                   capture_output=True, text=True, timeout=300)
        assert runs[how].returncode == 0, runs[how].stderr
    want, got = json.loads(runs["local"].stdout), json.loads(runs["server"].stdout)
    assert got["pipeline"] == want["pipeline"] and got["metric"] == want["metric"]
    assert [t["pipeline"] for t in got["tried"]] == [t["pipeline"] for t in want["tried"]]
    assert got["functions"] == want["functions"]
    assert got["compiles"] == 6 and got["input_instructions"] == want["input_instructions"]


def test_optimize_without_a_server_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "s.ll"
    src.write_text(SIMPLE_IR)
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "optimize", str(src), "--server",
                           str(tmp_path / "none.sock")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("irpipe optimize: error: cannot reach irpipe serve at")


def test_optimize_speed_through_the_server(server, tmp_path: Path) -> None:
    """speed asks the server too (candidates and whether main is defined): no main, -O3 kept."""
    sock, _ = server
    src = tmp_path / "s.ll"
    src.write_text(SIMPLE_IR)
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, "optimize", str(src), "--objective", "speed",
                           "--json", "--server", str(sock)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pipeline"] == "default<O3>" and "no main()" in out["note"]
