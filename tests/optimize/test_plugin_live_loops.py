"""The pass plugin's live per-loop mode (-irpipe-objective=speed): irpipe serve's loop policy decides
each function's loops at the vectorizer start; the build equals the advice-file build of the same
decisions byte for byte, and a server that is absent or answers garbage costs one warning."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from irpipe.llvm import native
from irpipe.llvm.tools import Toolchain
from irpipe.optimize.loops import LOOP_PIPELINE, LoopAdviser, apply_loops
from irpipe.optimize.serve import send
from irpipe.runtime import process
from irpipe.schema import LOOP_BODY_FACTS
from irpipe.testing.serve import ask, fake_server, start

PLUGIN = native.plugin_path()
SOURCE = r"""
#include <stdio.h>
static int w[300], v[300], dp[2001];
int knap(int n, int cap) {
  for (int c = 0; c <= cap; c++) dp[c] = 0;
  for (int i = 0; i < n; i++)
    for (int c = cap; c >= w[i]; c--)
      if (dp[c - w[i]] + v[i] > dp[c]) dp[c] = dp[c - w[i]] + v[i];
  return dp[cap];
}
int main(void) {
  long s = 0;
  for (int i = 0; i < 300; i++) { w[i] = (i * 37) % 97 + 1; v[i] = (i * 11) % 89 + 1; }
  for (int r = 0; r < 3; r++) s += knap(300 - r, 2000 - r);
  printf("%ld\n", s);
  return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """The C file and its unoptimized bitcode (what opt-22's default<O3> starts from)."""
    tmp = tmp_path_factory.mktemp("live-loops")
    src = tmp / "knap.c"
    src.write_text(SOURCE)
    done = Toolchain().run("clang", ["-O0", "-Xclang", "-disable-O0-optnone", "-emit-llvm", "-c", str(src),
                                     "-o", "-"], timeout=60)
    return src, done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    sock = tmp_path_factory.mktemp("live-serve") / "s.sock"
    proc = start(sock)
    yield sock
    proc.terminate()
    proc.wait(timeout=30)


def opt_live(sock: Path, module: bytes, *extra: str) -> tuple[bytes, str]:
    done = Toolchain().run("opt", [f"-load-pass-plugin={PLUGIN}", f"-passes={LOOP_PIPELINE}", f"-irpipe-server={sock}",
                                   "-irpipe-objective=speed", "-irpipe-timeout-ms=5000", *extra, "-", "-o", "-"],
                           input=module, timeout=120)
    return done.stdout, done.stderr.decode(errors="replace")


def plain_o3(module: bytes) -> bytes:
    return Toolchain().run("opt", [f"-passes={LOOP_PIPELINE}", "-", "-o", "-"], input=module, timeout=120).stdout


def test_live_decisions_equal_the_advice_file_build(program, server: Path) -> None:
    _, module = program
    before = ask(server, {"op": "health"})[0]["stats"]
    out, err = opt_live(server, module)
    after = ask(server, {"op": "health"})[0]["stats"]
    decisions = LoopAdviser.load().advise(module)
    assert decisions, "the policy decides nothing on this program: the test proves nothing"
    assert "irpipe: warning" not in err
    assert out == apply_loops(module, decisions) and out != plain_o3(module)
    assert after["loop_requests"] - before["loop_requests"] == 2  # knap and main: one request each
    assert after["loops_decided"] - before["loops_decided"] == len(decisions)
    assert after["modules"] == before["modules"]  # speed asks per loop, never for a module pipeline


def test_clang_o3_live_build_prints_what_o3_prints(program, server: Path, tmp_path: Path) -> None:
    src, _ = program
    tools, outputs = Toolchain(), []
    for name, extra in (("o3", []), ("live", ["-fpass-plugin=" + str(PLUGIN), "-mllvm", f"-irpipe-server={server}",
                                              "-mllvm", "-irpipe-objective=speed", "-mllvm", "-irpipe-timeout-ms=5000"])):
        exe = tmp_path / name
        done = tools.run("clang", ["-O3", *extra, str(src), "-o", str(exe)], timeout=120)
        assert "irpipe: warning" not in done.stderr.decode(errors="replace")
        outputs.append((exe.read_bytes(), process.run([str(exe)], what=name, timeout=60).stdout))
    (o3_exe, o3_out), (live_exe, live_out) = outputs
    assert live_out == o3_out and live_exe != o3_exe


def test_absent_server_one_warning_and_plain_o3(program, tmp_path: Path) -> None:
    _, module = program
    out, err = opt_live(tmp_path / "none.sock", module)
    assert err.count("irpipe: warning") == 1 and "cannot connect" in err and "keep LLVM's choices" in err
    assert out == plain_o3(module)


@pytest.mark.parametrize("case, answer, message", [
    ("refusal", lambda c: send(c, {"ok": False, "error": "no loop policy loaded"}), "refused: no loop policy loaded"),
    ("no-loops", lambda c: send(c, {"ok": True, "pipeline": "default<O3>"}), 'answer without "loops"'),
    ("junk", lambda c: c.sendall(struct.pack(">I", 4) + b"[1]x"), "answer is not JSON"),
    ("silent", lambda c: None, "no answer within"),
])
def test_bad_servers_cost_one_warning(program, tmp_path: Path, case: str, answer, message: str) -> None:
    _, module = program
    sock = tmp_path / f"{case}.sock"
    seen: list[dict] = []
    fake = fake_server(sock, answer, seen)
    try:
        out, err = opt_live(sock, module, "-irpipe-timeout-ms=300")
    finally:
        fake.close()
    assert err.count("irpipe: warning") == 1 and message in err, err
    assert out == plain_o3(module) and len(seen) == 1  # the first failure ends the asking


def test_the_request_and_bad_decisions(program, tmp_path: Path) -> None:
    """The request carries each loop's listing facts and which optional passes run; bad answered
    decisions are dropped one warning each, the good ones apply."""
    _, module = program
    sock = tmp_path / "f.sock"
    seen: list[dict[str, Any]] = []
    answer = {"ok": True, "loops": {"knap/L0.0": {"unroll": 4, "interleave": 99}, "knap/L7": {"unroll": 2},
                                    "knap/L0": "fast"}}
    fake = fake_server(sock, lambda c: send(c, answer), seen)
    try:
        out, err = opt_live(sock, module)
        jam = len(seen)
        opt_live(sock, module, "-enable-unroll-and-jam")
    finally:
        fake.close()
    knap = next(r for r in seen[:jam] if r["loops"][0]["id"].startswith("knap/"))
    assert knap["op"] == "loops" and knap["unroll_and_jam"] is False and knap["distribute"] is False
    assert [lp["id"] for lp in knap["loops"]] == ["knap/L0", "knap/L0.0"]  # (the zeroing loop is a memset)
    assert all(set(LOOP_BODY_FACTS) <= set(lp) for lp in knap["loops"])
    assert all(r["unroll_and_jam"] is True for r in seen[jam:])
    assert "'knap/L0.0': \"interleave\": 99 is not an interleave count" in err
    assert "names loop 'knap/L7'" in err and "decisions for loop 'knap/L0' are not an object" in err
    assert out == apply_loops(module, {"knap/L0.0": {"unroll": 4}})


def test_server_without_a_loop_policy_refuses(program, tmp_path: Path) -> None:
    _, module = program
    sock = tmp_path / "nl.sock"
    proc = start(sock, "--loop-model", "none")
    try:
        out, err = opt_live(sock, module)
        assert "refused: no loop policy loaded" in err and out == plain_o3(module)
        assert ask(sock, {"op": "health"})[0]["loop_model"] is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_function_with_more_loops_than_a_request_carries(tmp_path: Path) -> None:
    """1025 loops in one function: one warning, no request, the module unchanged (irpipe-apply-loops
    by itself, so no -O3 on a 1025-loop function)."""
    body, prev = [], "entry"
    for i in range(1025):
        nxt = f"l{i + 1}" if i < 1024 else "done"
        body += [f"l{i}:", f"  %i{i} = phi i32 [0, %{prev}], [%j{i}, %l{i}]", f"  store volatile i32 %i{i}, ptr %p",
                 f"  %j{i} = add i32 %i{i}, 1", f"  %c{i} = icmp slt i32 %j{i}, %n",
                 f"  br i1 %c{i}, label %l{i}, label %{nxt}"]
        prev = f"l{i}"
    ir = "\n".join(["define void @many(ptr %p, i32 %n) {", "entry:", "  br label %l0", *body, "done:",
                    "  ret void", "}", ""])
    sock, seen = tmp_path / "s.sock", []
    fake = fake_server(sock, lambda c: send(c, {"ok": True, "loops": {}}), seen)
    try:
        done = Toolchain().run("opt", [f"-load-pass-plugin={PLUGIN}", "-passes=irpipe-apply-loops",
                                       f"-irpipe-server={sock}", "-irpipe-objective=speed", "-S", "-", "-o", "-"],
                               input=ir.encode(), timeout=120)
    finally:
        fake.close()
    err = done.stderr.decode(errors="replace")
    assert err.count("irpipe: warning") == 1 and "has 1025 loops, more than a live request carries (1024)" in err
    assert not seen and "llvm.loop" not in done.stdout.decode()
