"""optimize keeps the program's target and meaning, and its baseline is the user's opt-22 -Oz.

A v1 x86-64 C program with llvm.fmuladd (clang's default -ffp-contract=on) is the case
that broke: retargeted to x86-64-v3, clang fused fmuladd into FMA and printed different
digits.  Every check here compares with what a user runs on the same input.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from irpipe.cli.main import main
from irpipe.label.measure import Evaluator
from irpipe.llvm.target import AS_OPT, Target
from irpipe.optimize.baseline import user_baseline
from irpipe.testing.gates import requires_llvm

pytestmark = requires_llvm

FMA_C = r"""
#include <stdio.h>
double a[97], b[97];
__attribute__((noinline)) double dot(int n) {
  double s = 0.1;
  for (int i = 0; i < n; i++) s = a[i] * b[i] + s * 0.999;
  return s;
}
__attribute__((cold, noinline)) void report(double v) { printf("cold %.17g\n", v * 1.5 + 0.25); }
int main(void) {
  for (int i = 0; i < 97; i++) { a[i] = 1.0 / (i + 3.0); b[i] = i * 0.37 - 3.1; }
  double d = dot(97);
  printf("%.17g %a\n", d, d);
  if (d < 1e9) report(d);
  return 0;
}
"""

_ATTRS = re.compile(r'"(target-cpu|target-features)"="([^"]*)"')


def _sh(*cmd: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def fma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fma")
    (d / "fma.c").write_text(FMA_C)
    _sh("clang-22", "-O0", "-Xclang", "-disable-O0-optnone", "-S", "-emit-llvm", str(d / "fma.c"),
        "-o", str(d / "fma.ll"))
    assert "llvm.fmuladd" in (d / "fma.ll").read_text()
    return d / "fma.ll"


def _target_of(text: str) -> tuple[str, set[tuple[str, str]]]:
    triple = re.search(r'^target triple = "([^"]*)"', text, re.M)
    return (triple.group(1) if triple else ""), set(_ATTRS.findall(text))


def _run(ll: Path, exe: Path) -> str:
    _sh("clang-22", str(ll), "-o", str(exe), "-lm")
    return _sh(str(exe)).stdout


def _printed(bitcode: bytes) -> str:
    """llvm-dis-22's text of ``bitcode``, without its ModuleID line."""
    return subprocess.run(["llvm-dis-22", "-", "-o", "-"], input=bitcode, check=True,
                          capture_output=True).stdout.decode().split("\n", 1)[1]


def test_baseline_is_opt22_oz_exactly(fma: Path, tmp_path: Path) -> None:
    """The -Oz optimize compares with prints the same IR as opt-22 -passes='default<Oz>', on the
    fma program, generated modules and real ones of every language in the sample (C, C++, Rust,
    numba): use-list order included, which changes the "; preds" lines and what later passes see."""
    from irpipe.testing.factories import generated_module, sample_modules

    modules = [("fma", fma.read_bytes())] + [(f"gen{s}", generated_module(tmp_path, 4, seed=s).encode())
                                            for s in range(2)] + sample_modules(8, max_instructions=3000)
    for name, data in modules:
        ref = subprocess.run(["opt-22", "-passes=default<Oz>", "-", "-o", "-"], input=data, check=True,
                             capture_output=True).stdout
        base = user_baseline(data, "default<Oz>", target=AS_OPT, name=name)
        assert _printed(base.bitcode) == _printed(ref), name


def test_text_counts_every_executable_section(fma: Path, tmp_path: Path) -> None:
    """.text is every SHF_EXECINSTR section of llc-22's object, .text.unlikely.* included."""
    _sh("opt-22", "-passes=default<Oz>", str(fma), "-o", str(tmp_path / "ref.bc"))
    _sh("llc-22", "-filetype=obj", str(tmp_path / "ref.bc"), "-o", str(tmp_path / "ref.o"))
    sections = _sh("llvm-readelf-22", "-S", "-W", str(tmp_path / "ref.o")).stdout
    executable = [ln for ln in sections.splitlines() if re.search(r"\]\s+\.text\S*\s", ln)
                  and re.search(r"\s[WAMSILOGTCxoEyRp]*X[WAMSILOGTCxoEyRp]*\s", ln)]
    names = [re.search(r"\]\s+(\S+)", ln).group(1) for ln in executable]  # type: ignore[union-attr]
    assert any(n.startswith(".text.unlikely") for n in names), names
    want = sum(int(ln.split("]", 1)[1].split()[4], 16) for ln in executable)
    base = user_baseline(fma.read_bytes(), "default<Oz>", target=AS_OPT)
    assert base.measurement.text_bytes == want


def test_evaluation_keeps_the_target(fma: Path) -> None:
    """No evaluation writes a CPU into the module: triple and attributes come out as they went in."""
    text = fma.read_text()
    _, raw = Evaluator(text, target=AS_OPT).evaluate("default<O3>", bitcode=True)
    out = subprocess.run(["llvm-dis-22", "-", "-o", "-"], input=raw["bitcode"], check=True,
                         capture_output=True).stdout.decode()
    assert _target_of(out) == _target_of(text)
    assert "x86-64-v3" not in out


@pytest.mark.parametrize("objective", ["size", "instcount"])
def test_optimize_output_prints_what_oz_prints(fma: Path, tmp_path: Path, objective: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The optimized program prints bit-identical results to opt-22 -Oz + clang-22, target unchanged."""
    out = tmp_path / "out.ll"
    assert main(["optimize", str(fma), "-o", str(out), "--objective", objective, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["baseline"] == "default<Oz>" and summary["target"]["target_cpu"] is None
    assert _target_of(out.read_text()) == _target_of(fma.read_text())
    _sh("opt-22", "-passes=default<Oz>", str(fma), "-S", "-o", str(tmp_path / "oz.ll"))
    _sh("clang-22", "-O0", str(fma.with_suffix(".c")), "-o", str(tmp_path / "o0"), "-lm")
    o0 = _sh(str(tmp_path / "o0")).stdout
    assert _run(out, tmp_path / "opt") == _run(tmp_path / "oz.ll", tmp_path / "oz") == o0


def test_explicit_target_cpu_is_written(fma: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A user who asks for a CPU gets it in every function and in the JSON."""
    out = tmp_path / "v3.ll"
    assert main(["optimize", str(fma), "-o", str(out), "--target-cpu", "x86-64-v3", "--verify", "2",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["target_cpu"] == "x86-64-v3"
    cpus = {v for k, v in _ATTRS.findall(out.read_text()) if k == "target-cpu"}
    assert cpus == {"x86-64-v3"}


def test_target_record_is_json() -> None:
    assert Target(cpu="znver3").describe() == {"mtriple": None, "target_cpu": "znver3", "strip_optnone": True}
