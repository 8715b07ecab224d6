"""The miscompile net on random programs (``make test-slow``): Csmith programs, seeded, through
optimize (size and instcount) and the pass plugin, each build's output equal to the -O0 build's.

IRPIPE_CSMITH_N programs (default 50) from seed IRPIPE_CSMITH_SEED (default 1) on; a program
whose -O0 build runs longer than 10 s is skipped (Csmith programs may loop for long).  Odd seeds
use Csmith's --float: its safe-math wrappers put each FP operation in its own function, so the
only llvm.fmuladd left multiplies by 0.5 (exact: fused or not, the same bits).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from irpipe.train.predict import Predictor
from irpipe.testing.gates import requires_llvm, slow
from irpipe.testing.miscompile import Net

CSMITH = shutil.which("csmith")
INCLUDE = Path("/usr/include/csmith")
COUNT = int(os.environ.get("IRPIPE_CSMITH_N", "50"))
FIRST = int(os.environ.get("IRPIPE_CSMITH_SEED", "1"))
MODEL = Path(__file__).resolve().parents[2] / "models" / "default"

pytestmark = [slow, requires_llvm, pytest.mark.skipif(
    CSMITH is None or not (INCLUDE / "csmith.h").is_file(),
    reason="needs csmith and its headers (Debian: apt-get install csmith libcsmith-dev; "
           "`make test-slow` installs them)")]


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load(MODEL)


@pytest.mark.parametrize("seed", range(FIRST, FIRST + COUNT))
def test_csmith_program_prints_what_O0_prints(predictor: Predictor, tmp_path: Path, seed: int) -> None:
    """Csmith program ``seed``: optimize (both objectives) and plugin builds print its checksum."""
    fp = seed % 2 == 1
    src = tmp_path / f"cs{seed}.c"
    try:
        subprocess.run([CSMITH, "--seed", str(seed), "--output", str(src), *(["--float"] if fp else [])],
                       check=True, capture_output=True, timeout=60, cwd=tmp_path)  # it writes platform.info
    except subprocess.TimeoutExpired:
        pytest.skip(f"csmith --seed {seed} took longer than 60 s to generate")
    # csmith.h's transparent_crc_bytes takes char *: clang-22 rejects float * there unless told
    cflags = ["-I", str(INCLUDE), "-w", "-Wno-error=incompatible-pointer-types", "-Wno-error=int-conversion"]
    net = Net(predictor, tmp_path, verify=4, cflags=cflags, run_timeout_s=10.0)
    ref = net.reference(src)
    if ref.status is None:
        pytest.skip(f"csmith --seed {seed}: the -O0 build runs longer than 10 s")
    net.frontend([src])
    diffs = net.check(src, seed, reference=ref)
    assert not diffs, f"csmith --seed {seed}{' --float' if fp else ''}:\n" + "\n\n".join(map(str, diffs))
