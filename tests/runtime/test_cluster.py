"""Ray at the edge: a job's embedded Ray is private, also with another Ray running on the machine.

A second Ray (``ray start --head``) runs under a private RAY_TMPDIR, so that both ways Ray finds a
running instance point at it: its ``ray_current_cluster`` file and RAY_ADDRESS.  The smallest job
(``irpipe featurize`` of two modules) must start its own instance with ``--num-cpus`` given, print
no token-authentication warning, write no token file, and leave no files behind; ``--address
auto`` must join the other instance.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from irpipe.runtime import cluster as jobs
from irpipe.testing.factories import many_ir, write_dataset

RAY_BIN = str(Path(sys.executable).parent / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _own_processes(marker: str) -> list[int]:
    """Pids of processes whose command line names ``marker`` (the other Ray's private folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module")
def other_ray() -> Iterator[dict[str, str]]:
    """Another Ray instance on this machine (``ray start --head --block``), stopped afterwards."""
    base = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # short: Ray's socket paths live below it
    env = {**os.environ, "RAY_TMPDIR": base, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen([RAY_BIN, "start", "--head", "--block", f"--port={_free_port()}", "--num-cpus=1",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address_file = Path(base) / "ray" / "ray_current_cluster"
    try:
        deadline = time.monotonic() + 180
        while not (address_file.is_file() and address_file.read_text().strip()):
            assert head.poll() is None and time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.2)
        yield {"base": base, "address": address_file.read_text().strip()}
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)  # it stops its daemons on SIGTERM, slowly
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        for pid in _own_processes(base):  # Ray daemons that left the process group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(base, ignore_errors=True)


def _drivers_of(other: dict[str, str]) -> list[Path]:
    """The driver logs of the other instance: one per process that connected to it."""
    return list((Path(other["base"]) / "ray" / "session_latest" / "logs").glob("python-core-driver-*"))


def _featurize(tmp_path: Path, name: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    ds = write_dataset(tmp_path / f"ds-{name}", many_ir(2))
    argv = [sys.executable, "-m", "irpipe", "featurize", "--dataset", str(ds), "--out", str(tmp_path / name),
            "--no-progress", *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def _env(other: dict[str, str], home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "RAY_TMPDIR": other["base"], "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", **extra}


def test_default_is_private_beside_another_ray(other_ray: dict[str, str], tmp_path: Path) -> None:
    env = _env(other_ray, tmp_path / "home")  # the other instance is found by its ray_current_cluster
    proc = _featurize(tmp_path, "out", env, "--num-cpus", "2")
    said = proc.stdout + proc.stderr
    assert proc.returncode == 0, said[-3000:]
    assert "num_cpus and num_gpus must not be provided" not in said
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["modules"] == 2
    assert _drivers_of(other_ray) == [], "the job joined the other Ray instance"
    assert len(list((Path(other_ray["base"]) / "ray").glob("session_2*"))) == 1, "a session in the shared folder"
    assert "Token authentication" not in said and "RAY_AUTH_MODE" not in said
    assert not (tmp_path / "home" / ".ray").exists(), "the per-run token went to disk"
    assert not list(Path(other_ray["base"]).glob(f"{jobs.PRIVATE_PREFIX}*")), "the private Ray folder stayed"


def test_address_auto_joins_the_running_ray(other_ray: dict[str, str], tmp_path: Path) -> None:
    env = _env(other_ray, tmp_path / "home", RAY_AUTH_MODE="disabled")
    proc = _featurize(tmp_path, "out", env, "--address", "auto")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["totals"]["modules"] == 2
    assert len(_drivers_of(other_ray)) == 1


def test_ray_address_alone_chooses_no_cluster(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(jobs.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(jobs.ray, "init", lambda **kw: calls.append(kw))
    monkeypatch.setattr(jobs, "_cleanup_at_exit", lambda top: None)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    jobs.init_ray(None, 2, 64)
    assert "RAY_ADDRESS" not in os.environ and "RAY_ADDRESS is set but not used" in capsys.readouterr().err
    private = Path(calls[0].pop("_temp_dir")).parent
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    private.rmdir()
    assert calls[0] == {"address": "local", "num_cpus": 2, "object_store_memory": 64 << 20,
                        "include_dashboard": False, "log_to_driver": False}
    jobs.init_ray("auto", 2, 64)  # a cluster: its own CPUs, no num_cpus
    assert calls[1] == {"address": "auto", "log_to_driver": False}


def test_private_temp_dir_is_0700_and_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(deep))  # too long for Ray's sockets: /tmp is used instead
    monkeypatch.setattr(tempfile, "tempdir", None)
    top = jobs.private_temp_dir()
    try:
        assert stat.S_IMODE(top.stat().st_mode) == 0o700
        assert not str(top).startswith(str(deep))
        longest = f"{top}/r/session_2026-12-04_16-56-55_264969_4194304/sockets/plasma_store"
        assert len(longest.encode()) <= jobs.SOCKET_PATH_MAX
    finally:
        top.rmdir()
    short = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))  # RAY_TMPDIR first, when short enough
    try:
        monkeypatch.setenv("RAY_TMPDIR", str(short))
        assert jobs.private_temp_dir().parent == short
    finally:
        shutil.rmtree(short)
