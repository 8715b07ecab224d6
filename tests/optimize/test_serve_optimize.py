"""Op optimize: ``irpipe optimize --server`` done in the warm server, byte for byte what the
in-process command writes; the result cache; bad modules; speed stays with the client; the
optimize pool never holds up advise, and a full queue answers busy.  The first tests run a real
``irpipe serve`` (irpipe.testing.serve), the last in-process servers on a fake model."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from irpipe.optimize import jobs, protocol
from irpipe.optimize.apply import UNITS, OptimizeResult
from irpipe.optimize.protocol import NotServed, RemoteModel
from irpipe.optimize.serve import Server
from irpipe.testing.factories import SIMPLE_IR, generated_module
from irpipe.testing.serve import FakePredictor, ask, start

#: The client of --server: runs the CLI, then refuses what it must not have loaded.
LEAN = ("import sys; from irpipe.cli.main import main; rc = main(sys.argv[1:]); "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'llvmlite') "
        "or m in ('irpipe.llvm.isolate', 'irpipe.train.predict', 'irpipe.nn')); "
        "assert not heavy, heavy; sys.exit(rc)")


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    sock = tmp_path_factory.mktemp("serve-optimize") / "irpipe.sock"
    proc = start(sock)
    yield sock
    proc.terminate()
    assert proc.wait(timeout=60) == 0


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("module")
    path = d / "gen.ll"
    path.write_text(generated_module(d, 3, seed=5))
    return path


def optimize_cli(src: Path, out: Path, *extra: str, lean: bool = False) -> subprocess.CompletedProcess:
    argv = ["-c", LEAN] if lean else ["-m", "irpipe.cli.main"]
    return subprocess.run([sys.executable, *argv, "optimize", str(src), "--json", "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("options", [["--objective", "instcount", "--verify", "6"],
                                     ["--target-cpu", "x86-64-v3", "--strip-optnone", "--verify", "4"]],
                         ids=["instcount", "target"])
def test_server_output_equals_in_process(server: Path, module: Path, tmp_path: Path, options: list[str]) -> None:
    """Same JSON (but seconds), same output bytes (.bc; .ll with an advice file); the bitcode
    client loads no torch, numpy, llvmlite or model code and starts no LLVM child (the advice
    file needs no pyarrow either)."""
    runs = {}
    for how in ("local", "server", "again"):  # "again": the server's cache answers
        extra = [] if how == "local" else ["--server", str(server)]
        for ext in ("bc", "ll"):
            advice = ["--emit-advice", str(tmp_path / f"{how}.advice.json")] if ext == "ll" else []
            proc = optimize_cli(module, tmp_path / f"{how}.{ext}", *options, *advice, *extra,
                                lean=how != "local" and ext == "bc")
            assert proc.returncode == 0, proc.stderr
            runs[how, ext] = json.loads(proc.stdout)
    want = {k: v for k, v in runs["local", "bc"].items() if k != "seconds"}
    for how in ("local", "server", "again"):
        for ext in ("bc", "ll"):
            assert {k: v for k, v in runs[how, ext].items() if k != "seconds"} == want, (how, ext)
            assert (tmp_path / f"{how}.{ext}").read_bytes() == (tmp_path / f"local.{ext}").read_bytes()
        assert (tmp_path / f"{how}.advice.json").read_text() == (tmp_path / "local.advice.json").read_text()
    assert want["target"]["target_cpu"] == ("x86-64-v3" if "--target-cpu" in options else None)


def test_a_repeated_module_is_a_cache_hit(server: Path, module: Path) -> None:
    req = {"op": "optimize", "module": b64(module.read_bytes()), "objective": "size", "verify": 3,
           "source": "gen.ll"}
    (before,) = ask(server, {"op": "health"})
    first, second, other = ask(server, req, req, {**req, "verify": 2}, timeout_s=600)
    (after,) = ask(server, {"op": "health"})
    assert first["ok"] and second["ok"] and other["ok"], (first, second, other)
    assert second["cached"] and not other["cached"] and second["bitcode"] == first["bitcode"]
    assert {k: v for k, v in second.items() if k not in ("seconds", "cached")} == \
        {k: v for k, v in first.items() if k not in ("seconds", "cached")}
    hits = after["stats"]["optimize_cache_hits"] - before["stats"]["optimize_cache_hits"]
    assert hits == 1 + first["cached"]  # first hits too if an earlier test sent the same
    assert after["optimize"]["cached"] >= 2 and after["optimize"]["workers"] == 1


def test_a_bad_module_is_one_error_line(server: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ll"
    bad.write_text("define i32 @f( {\n")
    proc = subprocess.run([sys.executable, "-c", LEAN, "optimize", str(bad), "--server", str(server)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"irpipe optimize: error: irpipe serve at {server}: {bad}")
    (reply,) = ask(server, {"op": "optimize", "module": b64(b"BC\xc0\xde garbage")})
    assert reply["ok"] is False and "\n" not in reply["error"]
    assert ask(server, {"op": "health"})[0]["ok"]


def test_speed_goes_the_advise_way(server: Path, tmp_path: Path) -> None:
    """The server refuses op optimize for speed (it runs the program); the client asks advise."""
    (refused,) = ask(server, {"op": "optimize", "module": b64(SIMPLE_IR), "objective": "speed"})
    assert refused["ok"] is False and "op advise" in refused["error"]
    src = tmp_path / "s.ll"
    src.write_text(SIMPLE_IR)
    (before,) = ask(server, {"op": "health"})
    proc = subprocess.run([sys.executable, "-m", "irpipe.cli.main", "optimize", str(src), "--objective", "speed",
                           "--json", "--server", str(server)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pipeline"] == "default<O3>"
    (after,) = ask(server, {"op": "health"})
    assert after["stats"]["optimize_requests"] == before["stats"]["optimize_requests"]
    assert after["stats"]["modules"] > before["stats"]["modules"]  # it asked advise


def test_the_client_keeps_the_in_process_summary_units_and_limit() -> None:
    """The client's copies of what it must not import (it loads no LLVM and no apply module)."""
    from irpipe.cli import optimize as cli
    from irpipe.llvm.ir import MAX_MODULE_BYTES
    from irpipe.optimize.protocol import MAX_MODULE

    result = OptimizeResult("speed", "p", 1.0, "b", 2.0, 3, b"", note="n", loops={"main/L0": {"unroll": 2}})
    assert tuple(result.summary()) == cli.SUMMARY and cli.UNITS == UNITS and MAX_MODULE == MAX_MODULE_BYTES


# --- in-process servers on a fake model: the pool itself -----------------------------------


class Gate:
    """Stands in for :func:`irpipe.optimize.jobs.run_job`: each job waits until opened."""

    def __init__(self) -> None:
        self.opened, self.started = threading.Event(), threading.Semaphore(0)

    def __call__(self, req: dict[str, Any], adviser: Any, child: Any, timeout_s: float = 60.0) -> OptimizeResult:
        self.started.release()
        assert self.opened.wait(120), "the test never opened the gate"
        return OptimizeResult(req["objective"], "default<Oz>", 1.0, "default<Oz>", 1.0, 3, req["module"][:4])


@pytest.fixture
def gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Server, Gate]]:
    gate = Gate()
    monkeypatch.setattr(jobs, "run_job", gate)
    server = Server(FakePredictor(), tmp_path / "s.sock", queue_size=1)
    server.start()
    yield server, gate
    gate.opened.set()
    server.stop()


def optimize_request(text: str) -> dict[str, Any]:
    return {"op": "optimize", "module": b64(text)}


def test_advise_is_answered_while_an_optimize_job_runs(gated: tuple[Server, Gate]) -> None:
    server, gate = gated
    done: list[dict] = []
    job = threading.Thread(target=lambda: done.extend(ask(server.path, optimize_request(SIMPLE_IR), timeout_s=300)))
    job.start()
    assert gate.started.acquire(timeout=120)  # the job runs, and stays running
    advice = ask(server.path, *[{"op": "advise", "module": b64(SIMPLE_IR)}] * 3, timeout_s=120)
    (health,) = ask(server.path, {"op": "health"})
    assert all(a["ok"] for a in advice) and health["optimize"]["running"] == 1 and not done
    gate.opened.set()
    job.join(120)
    assert done and done[0]["ok"] and done[0]["cached"] is False


def test_a_full_queue_answers_busy_and_the_client_does_it_itself(gated: tuple[Server, Gate]) -> None:
    server, gate = gated
    replies: list[dict] = []
    threads = [threading.Thread(target=lambda t=t: replies.extend(ask(server.path, optimize_request(t), timeout_s=300)))
               for t in (SIMPLE_IR, SIMPLE_IR + "\n")]
    threads[0].start()
    assert gate.started.acquire(timeout=120)  # one running
    threads[1].start()
    for _ in range(1200):  # and one queued (queue_size=1)
        if ask(server.path, {"op": "health"})[0]["optimize"]["queued"] == 1:
            break
        time.sleep(0.1)
    (busy,) = ask(server.path, optimize_request(SIMPLE_IR + "\n\n"))
    assert busy["ok"] is False and busy["busy"] is True and "busy" in busy["error"]
    with pytest.raises(NotServed):
        RemoteModel(server.path).optimize(b"define void @g() {\n  ret void\n}\n")
    gate.opened.set()
    for t in threads:
        t.join(120)
    assert len(replies) == 2 and all(r["ok"] for r in replies)
    (health,) = ask(server.path, {"op": "health"})
    assert health["stats"]["optimize_busy"] == 2 and health["stats"]["optimize_jobs"] == 2


def test_a_server_without_op_optimize_leaves_the_job_to_the_client(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(protocol._FIELDS, "optimize")  # as a server of the previous release
    server = Server(FakePredictor(), tmp_path / "old.sock", optimize_workers=0)
    server.start()
    try:
        with pytest.raises(NotServed, match="unknown op 'optimize'"):
            RemoteModel(server.path).optimize(SIMPLE_IR.encode())
    finally:
        server.stop()


def test_the_result_cache_is_bounded_by_entries_and_bytes() -> None:
    def done(size: int) -> jobs.Done:
        return jobs.Done(OptimizeResult("size", "p", 1.0, "b", 1.0, 1, b"x" * size))
    cache = jobs.ResultCache(size=2, max_bytes=100)
    cache.put(("a",), done(10))
    cache.put(("b",), done(10))
    assert cache.get(("a",)) is not None  # now the most recent
    cache.put(("c",), done(10))
    assert cache.get(("b",)) is None and len(cache) == 2
    cache.put(("d",), done(95))
    assert len(cache) == 1 and cache.get(("d",)) is not None
