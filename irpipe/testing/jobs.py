"""Helpers for job tests: run a job CLI (extract, featurize, label) as its own driver process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from irpipe.runtime import process
from irpipe.runtime.process import Child, Finished
from irpipe.runtime.shards import read_modules
from irpipe.testing.factories import c_tree, recipe


def _driver(command: str, *args: str, wait: bool = True
            ) -> Child | Finished:
    """Run ``irpipe COMMAND ARGS --num-cpus 2 --no-progress`` as its own driver process."""
    argv = [sys.executable, "-m", "irpipe.cli.main", command, *args, "--num-cpus", "2", "--no-progress"]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    what = f"irpipe {command}"
    if not wait:
        return process.start(argv, what=what, env=env, stdout=process.PIPE, stderr=process.STDOUT)
    return process.run(argv, what=what, env=env, text=True, timeout=600, check=False)


def extract(recipes: Path, out: Path, *extra: str, wait: bool = True
            ) -> Child | Finished:
    """``irpipe extract`` as a separate driver process (waited for, or started: a Child)."""
    return _driver("extract", "--recipes", str(recipes), "--out", str(out), *extra, wait=wait)


def featurize(dataset: Path, out: Path, *extra: str, wait: bool = True
              ) -> Child | Finished:
    """``irpipe featurize`` as a separate driver process."""
    return _driver("featurize", "--dataset", str(dataset), "--out", str(out), *extra, wait=wait)


def label(dataset: Path, out: Path, *extra: str, wait: bool = True
          ) -> Child | Finished:
    """``irpipe label`` as a separate driver process."""
    return _driver("label", "--dataset", str(dataset), "--out", str(out), *extra, wait=wait)


def sorted_hashes(out: Path) -> list[str]:
    """The dataset's structural hashes, sorted: equal for equal datasets."""
    return sorted(read_modules(out, columns=["structural_hash"]).column("structural_hash").to_pylist())


def slow_recipes(tmp_path: Path, n: int = 6) -> Path:
    """n local packages whose every compile sleeps 2 s (to be interrupted mid-job)."""
    r = tmp_path / "recipes"
    for i in range(n):
        src = {f"f{i}_{j}.c": f"int f{i}_{j}(int x) {{ return x * {i * 10 + j + 2}; }}\n" for j in range(2)}
        c_tree(tmp_path / f"src{i}", src, pre="sleep 2; ")
        recipe(r / f"p{i}.toml", f"p{i}", src=f"../src{i}")
    return r


def run_with_a_node_killed(start_driver, first_done_glob: str, out: Path) -> str:
    """Start a driver against a two-worker-node loopback Ray cluster, SIGKILL one node as soon as
    ``out.glob(first_done_glob)`` shows progress, and return the driver's log (it must exit 0).

    ``start_driver(address)`` starts the driver process (a Popen) against the cluster.
    """
    import time

    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        doomed = cluster.add_node(num_cpus=1)
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        driver = start_driver(cluster.address)
        deadline = time.monotonic() + 120
        while not list(out.glob(first_done_glob)) and time.monotonic() < deadline:
            time.sleep(0.05)
        cluster.remove_node(doomed, allow_graceful=False)  # SIGKILL the node: its running task is lost
        log, _ = driver.communicate(timeout=400)
        assert driver.returncode == 0, log[-3000:]
        return log
    finally:
        cluster.shutdown()


def measure(dataset: Path, pipelines: Path, out: Path, *extra: str, wait: bool = True
            ) -> Child | Finished:
    """``irpipe measure`` as a separate driver process."""
    return _driver("measure", "--dataset", str(dataset), "--pipelines", str(pipelines),
                   "--out", str(out), *extra, wait=wait)
