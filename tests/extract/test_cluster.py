"""The extraction job on a real multi-node Ray cluster on loopback: node loss and ``ray job submit``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from irpipe.testing.gates import requires_llvm, requires_root

from irpipe.testing.jobs import extract, run_with_a_node_killed, slow_recipes, sorted_hashes

pytestmark = [requires_llvm, requires_root]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_worker_node_killed_mid_job(tmp_path: Path) -> None:
    recipes = slow_recipes(tmp_path, n=6)
    ref = extract(recipes, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr[-2000:]

    out = tmp_path / "out"
    run_with_a_node_killed(lambda address: extract(recipes, out, "--address", address, wait=False),
                           "parts/*/done.json", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["packages_ok"] == 6 and not manifest["not_finished"]
    assert sorted_hashes(out) == sorted_hashes(tmp_path / "ref")


def test_ray_job_submit_against_ray_start_head(tmp_path: Path) -> None:
    recipes = slow_recipes(tmp_path, n=2)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    ray_bin = str(Path(sys.executable).parent / "ray")
    port, dash, agent = _free_port(), _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # Unix socket paths must stay short
    head = subprocess.Popen([ray_bin, "start", "--head", "--block", f"--port={port}",
                             "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=2",
                             f"--dashboard-agent-listen-port={agent}",
                             f"--temp-dir={temp}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        out = tmp_path / "out"
        irpipe = shutil.which("irpipe", path=str(Path(sys.executable).parent))
        submit = [ray_bin, "job", "submit", f"--address=http://127.0.0.1:{dash}", "--",
                  irpipe, "extract", "--recipes", str(recipes), "--out", str(out), "--address", "auto",
                  "--no-progress"]
        for _ in range(45):  # the dashboard's job server comes up a few seconds after the head
            proc = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=300)
            said = proc.stdout + proc.stderr
            if not any(m in said for m in ("Connection refused", "Failed to connect", "No available agent")):
                break
            time.sleep(2)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        assert "succeeded" in proc.stdout
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        subprocess.run(["pkill", "-9", "-f", temp], check=False)
        shutil.rmtree(temp, ignore_errors=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["packages_ok"] == 2


@pytest.fixture(autouse=True)
def _no_leftover_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
