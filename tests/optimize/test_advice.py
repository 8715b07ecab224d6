"""Advice files, version 2: per-loop decisions checked the same way in Python and in the plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from irpipe.errors import ConfigError
from irpipe.llvm import native
from irpipe.llvm.tools import Toolchain
from irpipe.llvm.loops import parse_loop_listing
from irpipe.optimize import advice

GOOD = {"kernel/L0": {"unroll": 4, "interleave": 2, "vectorize": "off", "unroll_and_jam": 2,
                      "distribute": True},
        "kernel/L1.0": {"unroll": "full", "vectorize": 8, "interleave": 1},
        "ns::f(int)/L12.3.0": {"unroll": "runtime", "vectorize": "on", "distribute": False},
        "g/L2": {"unroll": "no-runtime"}, "h/L0": {"unroll": "off"}, "h/L1": {}}
# (decision, value): each is one error line, in Python and in the plugin
BAD = [("unroll", 1), ("unroll", 2000), ("unroll", "sometimes"), ("unroll", True), ("unroll", 4.5),
       ("interleave", 0), ("interleave", 32), ("vectorize", 1), ("vectorize", 6), ("vectorize", 128),
       ("vectorize", "yes"), ("unroll_and_jam", 1), ("unroll_and_jam", "2"), ("distribute", 1),
       ("distribute", "true"), ("tile", 4)]
BAD_IDS = ["kernel", "kernel/L", "kernel/L01", "kernel/L1.", "/L0", "kernel/l0", "kernel/L-1"]


def _doc(version: int, loops: Any) -> dict[str, Any]:
    return {"format": "irpipe.advice", "version": version,
            "modules": [{"source": "loops.c", "pipeline": "default<O3>", "loops": loops}]}


def test_v2_round_trip_and_version_written(tmp_path: Path) -> None:
    entry = advice.module_advice("h", "a.c", "speed", "default<O3>", loops=GOOD)
    path = advice.write(tmp_path / "a.json", [entry])
    assert json.loads(path.read_text())["version"] == 2
    assert advice.read(path) == [entry] and entry["loops"] == GOOD
    plain = advice.module_advice("h", "a.c", "size", "default<Oz>")
    assert "loops" not in plain
    assert json.loads(advice.write(tmp_path / "b.json", [plain]).read_text())["version"] == 1


def test_version_1_still_reads_without_loops(tmp_path: Path) -> None:
    v1 = {"format": "irpipe.advice", "version": 1, "modules": [{"source": "*", "pipeline": "default<Oz>"}]}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    assert advice.read(tmp_path / "v1.json") == v1["modules"]
    (tmp_path / "v1loops.json").write_text(json.dumps(_doc(1, {"f/L0": {"unroll": 2}})))
    with pytest.raises(ConfigError, match="'loops' needs an irpipe.advice version 2 file"):
        advice.read(tmp_path / "v1loops.json")
    (tmp_path / "v3.json").write_text(json.dumps({**v1, "version": 3}))
    with pytest.raises(ConfigError, match="version 3, this irpipe reads 1, 2"):
        advice.read(tmp_path / "v3.json")


@pytest.mark.parametrize(("key", "value"), BAD)
def test_a_bad_decision_is_one_error_line(tmp_path: Path, key: str, value: Any) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_doc(2, {"f/L0": {key: value}, "f/L1": {"unroll": 2}})))
    with pytest.raises(ConfigError) as info:
        advice.read(tmp_path / "a.json")
    (line,) = str(info.value).splitlines()
    assert "'loops.c'" in line and "loop 'f/L0'" in line and json.dumps(key) in line
    with pytest.raises(ConfigError):
        advice.module_advice("h", "a.c", "speed", "default<O3>", loops={"f/L0": {key: value}})


def test_every_bad_value_is_reported(tmp_path: Path) -> None:
    loops: dict[str, Any] = {f"f/L{i}": {key: value} for i, (key, value) in enumerate(BAD)}
    loops.update({bad: {"unroll": 2} for bad in BAD_IDS})
    loops["f/L99"] = "unroll 4"
    assert len(advice.loop_errors(loops)) == len(BAD) + len(BAD_IDS) + 1
    assert advice.loop_errors([]) == ["'loops' is not an object: []"]
    assert advice.loop_errors(GOOD) == []


def test_loop_listing_is_parsed() -> None:
    text = ('irpipe: warning: something\n'
            'irpipe: loop {"id":"k/L0","depth":1,"blocks":3,"trip_count":null,'
            '"strict_fp_reduction":true,"strict_fp_induction":false}\n'
            'remark: whatever\n')
    (loop,) = parse_loop_listing(text)
    assert loop["id"] == "k/L0" and loop["trip_count"] is None and loop["strict_fp_reduction"]


LOOP_IR = """source_filename = "loops.c"
define void @f(ptr %a, i64 %n) {
entry:
  br label %l0
l0:
  %i = phi i64 [ 0, %entry ], [ %i1, %l0 ]
  %p = getelementptr i32, ptr %a, i64 %i
  store i32 0, ptr %p
  %i1 = add i64 %i, 1
  %c = icmp slt i64 %i1, %n
  br i1 %c, label %l0, label %l1
l1:
  %j = phi i64 [ 0, %l0 ], [ %j1, %l1 ]
  %j1 = add i64 %j, 1
  %d = icmp slt i64 %j1, %n
  br i1 %d, label %l1, label %exit
exit:
  ret void
}
"""


def test_python_and_the_plugin_agree_on_values(tmp_path: Path) -> None:
    """The plugin warns once for each value Python refuses, and accepts what Python accepts."""
    (tmp_path / "in.ll").write_text(LOOP_IR)
    loops: dict[str, Any] = {f"f/L{i}": {key: value} for i, (key, value) in enumerate(BAD)}
    for good in GOOD.values():
        loops.update({f"f/L{len(loops)}": good})
    loops.update({bad: {"unroll": 2} for bad in BAD_IDS})
    (tmp_path / "a.json").write_text(json.dumps(_doc(2, loops)))
    proc = Toolchain().run("opt", [f"-load-pass-plugin={native.plugin_path()}", "-passes=irpipe-apply-loops",
                                   f"-irpipe-advice={tmp_path / 'a.json'}", str(tmp_path / "in.ll"),
                                   "-disable-output"], timeout=60, check=False)
    assert proc.returncode == 0
    lines = proc.stderr.decode().splitlines()
    bad_value = [ln for ln in lines if "; ignored" in ln and "does not have" not in ln]
    assert len(bad_value) == len(BAD) + len(BAD_IDS) == len(advice.loop_errors(loops))
    for i, (key, _) in enumerate(BAD):
        assert any(f"loop 'f/L{i}'" in ln and json.dumps(key) in ln for ln in bad_value)
