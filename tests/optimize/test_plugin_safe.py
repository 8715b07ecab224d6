"""The pass plugin never fails a compile: a pipeline that would abort LLVM, from an advice file or a
live server, falls back to clang's own default pipeline with one warning (passes/README.md)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from irpipe.errors import ConfigError, IRError
from irpipe.label.actions import ACTIONS, parse, pipeline
from irpipe.llvm import native
from irpipe.llvm.tools import Toolchain
from irpipe.optimize import advice
from irpipe.optimize.apply import OptimizeResult
from irpipe.optimize.protocol import send
from irpipe.testing.serve import fake_server

PLUGIN = native.plugin_path()
LOOP_C = "int A[64];\nint sum8(void) { int s = 0; for (int i = 0; i < 8; i++) s += A[i]; return s; }\n"
NAIVE_C = """int naive(const char *t, int n, const char *p, int m) {
  int c = 0;
  for (int i = 0; i + m <= n; i++) { int j = 0; while (j < m && t[i + j] == p[j]) j++; c += j == m; }
  return c;
}
"""
# (source, pipeline, why): each aborts clang-22 -O2 without the plugin's checks
ABORTING = {
    "loop-mssa": (LOOP_C, "function(mem2reg,loop-mssa(loop-unroll-full))",
                  "rejected: loop-mssa(...) runs loop-unroll-full, which does not preserve MemorySSA"),
    "licm": (LOOP_C, "function(mem2reg,licm)", "rejected: licm needs MemorySSA but runs in loop(...)"),
    "trial": (NAIVE_C, "instcombine", "rejected: its trial run failed (LLVM ERROR: Instruction Combining "
                                      "on naive did not reach a fixpoint"),
}


def clang(src: Path, out: Path, *extra: str, plugin: bool = True) -> subprocess.CompletedProcess:
    args = ["-O2", *([f"-fpass-plugin={PLUGIN}"] if plugin else []), *extra, str(src), "-o", str(out)]
    return Toolchain().run("clang", args, timeout=120, check=False)


def write_advice(path: Path, text: str, **extra: object) -> Path:
    path.write_text(json.dumps({"format": "irpipe.advice", "version": 1,
                                "modules": [{"source": "*", "pipeline": text, **extra}]}))
    return path


def warnings(proc: subprocess.CompletedProcess) -> list[str]:
    return proc.stderr.decode(errors="replace").splitlines()


def falls_back(tmp_path: Path, src: Path, text: str, why: str, *mode: str) -> None:
    """clang exits 0 with an object, one warning line, and exactly the plain -O2 output."""
    proc = clang(src, tmp_path / "a.o", "-c", *mode)
    assert proc.returncode == 0 and (tmp_path / "a.o").stat().st_size > 0
    (line,) = warnings(proc)
    assert line.startswith(f"irpipe: warning: module '{src}': advised pipeline '{text}' {why}")
    assert line.endswith("; keeping the default pipeline")
    ours = clang(src, tmp_path / "ours.ll", "-S", "-emit-llvm", *mode)
    plain = clang(src, tmp_path / "plain.ll", "-S", "-emit-llvm", plugin=False)
    assert ours.returncode == plain.returncode == 0
    assert (tmp_path / "ours.ll").read_text() == (tmp_path / "plain.ll").read_text()


@pytest.mark.parametrize("case", sorted(ABORTING))
def test_aborting_advice_falls_back(tmp_path: Path, case: str) -> None:
    code, text, why = ABORTING[case]
    src = tmp_path / f"{case}.c"
    src.write_text(code)
    adv = write_advice(tmp_path / "advice.json", text)
    without = clang(src, tmp_path / "dead.o", "-c", "-mllvm", f"-irpipe-advice={adv}", "-mllvm",
                    "-irpipe-trial-ms=0") if case == "trial" else None
    assert without is None or (without.returncode != 0 and "did not reach a fixpoint" in without.stderr.decode())
    falls_back(tmp_path, src, text, why, "-mllvm", f"-irpipe-advice={adv}")


def serve_one_pipeline(path: Path, text: str) -> socket.socket:
    """A server that answers every advise request with ``text``."""
    return fake_server(path, lambda conn: send(conn, {"ok": True, "pipeline": text}))


@pytest.mark.parametrize("case", ["loop-mssa", "trial"])
def test_aborting_live_answer_falls_back(tmp_path: Path, case: str) -> None:
    code, text, why = ABORTING[case]
    src = tmp_path / f"{case}.c"
    src.write_text(code)
    sock = tmp_path / "s.sock"
    server = serve_one_pipeline(sock, text)
    try:
        falls_back(tmp_path, src, text, why, "-mllvm", f"-irpipe-server={sock}", "-mllvm",
                   "-irpipe-timeout-ms=20000")
    finally:
        server.close()


def test_trial_time_limit(tmp_path: Path) -> None:
    """A trial that runs past -irpipe-trial-ms is killed and the module keeps the default pipeline."""
    src = tmp_path / "big.c"
    src.write_text("".join(f"int f{i}(int *p, int n) {{ int s = 0; for (int i = 0; i < n; i++) "
                           f"s += p[i] * {i} + (s >> 3); return s; }}\n" for i in range(300)))
    adv = write_advice(tmp_path / "o3.json", "function(sroa<modify-cfg>),default<O3>")  # an O level alone: no trial
    proc = clang(src, tmp_path / "big.o", "-c", "-mllvm", f"-irpipe-advice={adv}", "-mllvm", "-irpipe-trial-ms=1")
    (line,) = warnings(proc)
    assert proc.returncode == 0 and (tmp_path / "big.o").stat().st_size > 0
    assert "default<O3>' rejected: its trial run did not finish within 1 ms; keeping the default pipeline" in line


def test_emitted_advice_is_verified_and_builds(tmp_path: Path) -> None:
    """irpipe optimize --emit-advice marks what it ran; the plugin runs it without a trial or warning."""
    src = tmp_path / "naive.c"
    src.write_text(NAIVE_C)
    ll = tmp_path / "naive.ll"
    Toolchain().run("clang", ["-O0", "-Xclang", "-disable-O0-optnone", "-S", "-emit-llvm", str(src), "-o", str(ll)])
    adv = tmp_path / "advice.json"
    subprocess.run([sys.executable, "-m", "irpipe.cli.main", "optimize", str(ll), "--verify", "3",
                    "--emit-advice", str(adv)], check=True, capture_output=True, timeout=300)
    (entry,) = advice.read(adv)
    assert entry["verified"] is True and entry["source"] == str(src)  # the module's source_filename
    proc = clang(src, tmp_path / "n.o", "-c", "-mllvm", f"-irpipe-advice={adv}")
    assert proc.returncode == 0 and warnings(proc) == []


def test_only_evaluated_pipelines_become_advice(tmp_path: Path) -> None:
    result = OptimizeResult("size", "function(sroa<modify-cfg>)", 10.0, "default<Oz>", 12.0, 5, b"",
                            tried=[{"pipeline": "function(sroa<modify-cfg>)", "error": "timed out"}])
    with pytest.raises(IRError, match="not evaluated successfully"):
        advice.optimized_advice(result, "h", "a.ll")
    result.tried.append({"pipeline": "function(sroa<modify-cfg>)", "metric": 10.0})
    assert advice.optimized_advice(result, "h", "a.ll")["verified"] is True
    assert advice.module_advice("h", "a.ll", "size", "default<Oz>")["verified"] is False
    path = advice.write(tmp_path / "a.json", [{**advice.module_advice("h", "a.ll", "size", "default<Oz>"),
                                              "verified": "yes"}])
    with pytest.raises(ConfigError, match="'verified'"):
        advice.read(path)


def test_the_action_space_and_the_plugin_agree_on_loop_nests(tmp_path: Path) -> None:
    """Every loop action irpipe can advise passes the plugin's grammar; what the grammar refuses the
    action space refuses too."""
    loops = [a for a in ACTIONS if a.level in ("loop", "loop-mssa")]
    text = pipeline(loops)
    ll = tmp_path / "loop.ll"
    src = tmp_path / "loop.c"
    src.write_text(LOOP_C)
    Toolchain().run("clang", ["-O0", "-Xclang", "-disable-O0-optnone", "-S", "-emit-llvm", str(src), "-o", str(ll)])
    adv = write_advice(tmp_path / "a.json", text)
    proc = Toolchain().run("opt", [f"-load-pass-plugin={PLUGIN}", "-passes=irpipe-apply", f"-irpipe-advice={adv}",
                                   "-irpipe-trial-ms=0", str(ll), "-o", "/dev/null"], timeout=120, check=False)
    assert proc.returncode == 0 and warnings(proc) == [], warnings(proc)
    for case in ("loop-mssa", "licm"):
        with pytest.raises(IRError):
            parse(ABORTING[case][1].replace("mem2reg,", ""))


def test_a_build_advice_cannot_hold_is_not_written_as_advice() -> None:
    from irpipe.optimize.wholeprogram import LTO_LABEL

    result = OptimizeResult("speed", "default<O3>", 1.0, "default<O3>", 1.2, 5, b"", tried=[], build=LTO_LABEL)
    with pytest.raises(IRError, match=r"the chosen build \(lto<O3>, whole program\) is more than a pipeline"):
        advice.optimized_advice(result, "h", "a.ll")
    assert result.summary()["build"] == LTO_LABEL
    result.build = ""  # plain -O3, the baseline: that advice holds
    assert advice.optimized_advice(result, "h", "a.ll")["pipeline"] == "default<O3>"
