"""The pass plugin's live mode: ask irpipe serve, with a strict deadline and a fallback for a server
that is absent, slow, or answers garbage (fake servers here); a compile never fails."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest

from irpipe.llvm import native
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.serve import send
from irpipe.testing.serve import ask, fake_server, start

PLUGIN = native.plugin_path()
IR = """source_filename = "live.c"
define internal i32 @sq(i32 %x) {
  %m = mul i32 %x, %x
  ret i32 %m
}
define i32 @f(i32 %n) {
  %a = alloca i32
  store i32 %n, ptr %a
  %v = load i32, ptr %a
  %s = call i32 @sq(i32 %v)
  ret i32 %s
}
"""


def opt(sock: Path, timeout_ms: int = 500, ir: str = IR) -> tuple[str, str, float]:
    t0 = time.monotonic()
    proc = Toolchain().run("opt", [f"-load-pass-plugin={PLUGIN}", "-passes=irpipe-apply",
                                   f"-irpipe-server={sock}", f"-irpipe-timeout-ms={timeout_ms}",
                                   "-S", "-", "-o", "-"], input=ir.encode(), timeout=60)
    return proc.stdout.decode(), proc.stderr.decode(errors="replace"), time.monotonic() - t0


def test_real_server(tmp_path: Path) -> None:
    sock = tmp_path / "s.sock"
    proc = start(sock)
    try:
        out, err, _ = opt(sock, timeout_ms=5000)
        assert "irpipe: warning" not in err and "define i32 @f(" in out
        assert ask(sock, {"op": "health"})[0]["stats"]["modules"] == 1   # one module, one request
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("case, answer, message", [
    ("silent", lambda c: time.sleep(3), "no answer within 200 ms"),
    ("junk", lambda c: c.sendall(struct.pack(">I", 9) + b"not json!"), "answer is not JSON"),
    ("huge", lambda c: c.sendall(struct.pack(">I", 1 << 30)), "answer too long"),
    ("refusal", lambda c: send(c, {"ok": False, "error": "overloaded"}), "refused: overloaded"),
    ("bad-pipeline", lambda c: send(c, {"ok": True, "pipeline": "function(no-such-pass)"}),
     "advice pipeline 'function(no-such-pass)' does not parse"),
])
def test_fallbacks(tmp_path: Path, case: str, answer, message: str) -> None:
    sock = tmp_path / f"{case}.sock"
    server = fake_server(sock, answer)
    try:
        out, err, seconds = opt(sock, timeout_ms=200)
    finally:
        server.close()
    assert message in err and "define i32 @f(" in out and "alloca" in out  # unchanged module
    assert seconds < 2.5


def test_absent_server(tmp_path: Path) -> None:
    out, err, _ = opt(tmp_path / "none.sock")
    assert "cannot connect: No such file or directory; keeping the default pipeline" in err
    assert "alloca" in out


def test_server_dies_mid_build(tmp_path: Path) -> None:
    """clang-22 -O2 -fpass-plugin builds go on when the server is killed between compiles."""
    sock = tmp_path / "s.sock"
    src = tmp_path / "u.c"
    src.write_text("int sq(int x) { return x * x; }\nint f(int n) { int s = 0; for (int i = 0; i < n; i++) s += sq(i); return s; }\n")
    proc = start(sock)
    tools = Toolchain()
    args = ["-O2", f"-fpass-plugin={PLUGIN}", "-mllvm", f"-irpipe-server={sock}", "-c", str(src)]
    try:
        first = tools.run("clang", [*args, "-o", str(tmp_path / "a.o")], timeout=60)
        assert "irpipe: warning" not in first.stderr.decode(errors="replace")
        assert ask(sock, {"op": "health"})[0]["stats"]["modules"] == 1
    finally:
        proc.kill()  # no clean shutdown: the socket file stays behind, nobody listens
        proc.wait(timeout=30)
    second = tools.run("clang", [*args, "-o", str(tmp_path / "b.o")], timeout=60)
    assert "keeping the default pipeline" in second.stderr.decode(errors="replace")
    assert (tmp_path / "b.o").stat().st_size > 0


def test_socket_of_another_user_is_not_asked(tmp_path: Path) -> None:
    """A server socket owned by another (non-root) user may not choose our pipelines."""
    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    sock = tmp_path / "foreign.sock"
    asked = []
    server = fake_server(sock, lambda c: (asked.append(1), send(c, {"ok": True, "pipeline": "function(sroa)"})))
    os.chown(sock, 65534, 65534)
    try:
        out, err, _ = opt(sock)
    finally:
        server.close()
    assert "the socket is owned by uid 65534, not by this user; keeping the default pipeline" in err
    assert "alloca" in out and not asked
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert "not a socket" in opt(plain)[1]


def test_a_twin_is_answered_from_the_plugins_digest(tmp_path: Path) -> None:
    """The -fPIC compile of the same file (other bytes, the same program graph): the plugin's
    model-input digest (C++, passes/lib/ModelDigest.cpp) equals the server's (Python,
    input_digest) for the module it parsed first, so the twin is answered without a parse."""
    sock = tmp_path / "s.sock"
    proc = start(sock)
    twin = IR.replace("define i32 @f", "define dso_local i32 @f") + '!llvm.module.flags = !{!0}\n!0 = !{i32 8, !"PIC Level", i32 2}\n'
    try:
        for text in (IR, twin):
            out, err, _ = opt(sock, timeout_ms=5000, ir=text)
            assert "irpipe: warning" not in err and "define" in out
        stats = ask(sock, {"op": "health"})[0]["stats"]
        assert stats["modules"] == 2 and stats["digest_hits"] == 1 and stats["cache_hits"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
