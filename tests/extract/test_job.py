"""irpipe extract as a Ray job: bad inputs in one run, resume after a SIGKILLed driver."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq

from irpipe.runtime.shards import read_modules
from irpipe.testing.factories import c_tree, recipe
from irpipe.testing.jobs import extract, slow_recipes, sorted_hashes
from irpipe.testing.gates import requires_llvm, requires_root

pytestmark = [requires_llvm, requires_root]


def test_bad_inputs_each_recorded_rest_unharmed(tmp_path: Path) -> None:
    r = tmp_path / "recipes"
    good = {"a.c": "int a(int x) { return x + 1; }\n", "b.c": "int b(int x) { return x * 5; }\n"}
    c_tree(tmp_path / "good", good)
    recipe(r / "good.toml", "good", src="../good")
    c_tree(tmp_path / "broken", {"x.c": "int x( {\n"})
    recipe(r / "broken.toml", "broken", src="../broken")
    c_tree(tmp_path / "slow", good, pre="sleep 60; ")
    recipe(r / "slow.toml", "slow", src="../slow", timeout=3)
    probe = "python3 -c \"import socket; socket.create_connection(('pypi.org', 443), timeout=5)\" && "
    c_tree(tmp_path / "net", good, pre=probe)
    recipe(r / "net.toml", "net", src="../net")
    c_tree(tmp_path / "corrupt", {"c.c": "int c(void) { return 3; }\n",
                                  "junk.s": '.section .llvmbc,"e"\n.ascii "BC\\300\\336 garbage"\n'})
    recipe(r / "corrupt.toml", "corrupt", src="../corrupt")
    recipe(r / "gpl.toml", "gpl", src="../good", license="GPL-3.0-only")
    recipe(r / "typo.toml", "typo", src="../good", extra="timout = 5")
    recipe(r / "nosuch.toml", "surely-not-a-real-pypi-project-irpipe", kind="pypi", build="setuptools", license=None)

    proc = extract(r, tmp_path / "out", "--keep-going")  # exit 0 although packages fail
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    status = {p["recipe_id"]: (p["status"], p["stage"]) for p in manifest["packages"]}
    assert status == {
        "good": ("ok", None), "corrupt": ("ok", None), "broken": ("failed", "build"),
        "slow": ("failed", "timeout"), "net": ("failed", "build"), "gpl": ("excluded", "license"),
        "nosuch": ("failed", "fetch"),
    }
    assert manifest["excluded"][0]["recipe_id"] == "gpl"
    fails = pq.read_table(out / "failures.parquet").to_pylist()
    stages = sorted(f["stage"] for f in fails)
    assert stages.count("extract") >= 1 and "recipe" in stages
    typo = next(f for f in fails if f["stage"] == "recipe")
    assert "unknown key 'timout'" in typo["error"]
    for f in fails:
        assert "\n" not in f["error"] and f["error"]
    t = read_modules(out)
    assert sorted(t.column("source_path").to_pylist()) == ["a.c", "b.c", "c.c"]
    # the warning lines on stderr name each package (errors and exit 1 without --keep-going)
    assert "irpipe extract: warning: slow: [timeout]" in proc.stderr
    assert "irpipe extract: warning: gpl: excluded: [license]" in proc.stderr
    lines = proc.stderr.splitlines()
    assert any(ln.startswith("irpipe extract: warning: ") and "typo.toml: unknown key 'timout'" in ln for ln in lines)


def test_driver_sigkill_then_rerun_equals_undisturbed(tmp_path: Path) -> None:
    recipes = slow_recipes(tmp_path)
    ref = extract(recipes, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr[-2000:]

    out = tmp_path / "out"
    driver = extract(recipes, out, wait=False)
    deadline = time.monotonic() + 180
    while len(list((out / "parts").glob("*/done.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = len(list((out / "parts").glob("*/done.json")))
    assert 2 <= finished < 6
    assert not (out / "manifest.json").exists()
    for f in out.rglob("*.parquet"):  # nothing visible is partial
        if not f.name.startswith("."):
            pq.read_metadata(f)

    again = extract(recipes, out)
    assert again.returncode == 0, again.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["packages_skipped_as_done"] >= finished
    assert sorted_hashes(out) == sorted_hashes(tmp_path / "ref")
    assert not list(out.rglob(".*.tmp-*"))
