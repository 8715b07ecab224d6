"""irpipe.runtime.callgrind reads the instruction count from valgrind callgrind's stderr."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from irpipe.runtime import callgrind

DEFAULT = """\
==4242== Callgrind, a call-graph generating cache profiler
==4242== Copyright (C) 2002-2017, and GNU GPL'd, by Josef Weidendorfer et al.
==4242== Command: ./a.out 10
==4242==
==4242== For interactive control, run 'callgrind_control -h'.
result: 55
==4242==
==4242== Events    : Ir
==4242== Collected : 1234567
==4242==
==4242== I   refs:      1,234,567
"""

CACHE_SIM = """\
==77== Events    : Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
==77== Collected : 900 300 120 5 7 3 5 6 2
==77==
==77== I   refs:      900
"""


def test_default_summary() -> None:
    assert callgrind.summary(DEFAULT) == {"Ir": 1234567}
    assert callgrind.instructions(DEFAULT) == 1234567
    assert callgrind.instructions(DEFAULT.encode()) == 1234567


def test_every_event_of_a_cache_simulation() -> None:
    totals = callgrind.summary(CACHE_SIM)
    assert totals["Ir"] == 900 and totals["Dw"] == 120 and len(totals) == 9
    assert callgrind.instructions(CACHE_SIM) == 900


def test_collected_without_events_is_instructions() -> None:
    assert callgrind.instructions("Collected : 42\n") == 42


def test_program_output_does_not_rename_the_events() -> None:
    text = "Events: starting\n" + DEFAULT
    assert callgrind.instructions(text) == 1234567


@pytest.mark.parametrize("text", ["", "==1== Events    : Ir\n", "Segmentation fault\n",
                                  "==1== Collected : \n"])
def test_no_count(text: str) -> None:
    assert callgrind.summary(text) == {}
    assert callgrind.instructions(text) is None


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_real_callgrind_run() -> None:
    true = shutil.which("true")
    assert true is not None
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", true],
                          capture_output=True, timeout=300, check=False)
    count = callgrind.instructions(proc.stderr)
    assert count is not None and count > 1000, proc.stderr[-500:]


CACHEGRIND_FILE = """\
desc: I1 cache:         32768 B, 64 B, 8-way associative
cmd: ./t 100000
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim
fl=t.c
fn=main
3 5 0 0 1 1 0 0 0 0 1 0 0 0
summary: 566531 1302 1283 129537 13817 1001 60917 12921 12851 62915 3296 303 161
"""


def test_output_file_totals() -> None:
    totals = callgrind.file_totals(CACHEGRIND_FILE)
    assert totals["Ir"] == 566531 and totals["D1mr"] == 13817 and totals["Bim"] == 161 and len(totals) == 13
    assert callgrind.file_totals(CACHEGRIND_FILE.encode()) == totals
    # callgrind writes `totals:`; trailing zero events may be left out
    assert callgrind.file_totals("events: Ir Dr Dw\ntotals: 900 300\n") == {"Ir": 900, "Dr": 300, "Dw": 0}


@pytest.mark.parametrize("text", ["", "events: Ir\n", "summary: 5\n", CACHEGRIND_FILE.replace("summary", "sum")])
def test_output_file_without_totals(text: str) -> None:
    assert callgrind.file_totals(text) == {}


CALLGRIND_INSTR_FILE = """\
positions: instr
events: Ir
ob=(1) /lib/ld.so
fn=(1) _start
0x10 7
cob=(2) /tmp/t
cfn=(2) main
calls=1 0x1160
0x12 500
ob=(2)
fn=(2)
0x1160 1
0x1164 3
cob=(1)
cfn=(1)
calls=1 0x20
0x1164 900
0x1164 2
totals: 513
"""


def test_instruction_costs_of_one_object() -> None:
    # names defined on cob= lines are reused by ob=; the inclusive cost after calls= is no self cost
    assert callgrind.instr_costs(CALLGRIND_INSTR_FILE, "/tmp/t") == {0x1160: 1, 0x1164: 5}
    assert callgrind.instr_costs(CALLGRIND_INSTR_FILE.encode(), "/lib/ld.so") == {0x10: 7}
    assert callgrind.instr_costs(CALLGRIND_INSTR_FILE, "/other") == {}
    with pytest.raises(ValueError, match="compress-pos"):
        callgrind.instr_costs("ob=/tmp/t\nfn=main\n0x10 1\n+2 1\n", "/tmp/t")
