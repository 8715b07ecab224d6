"""irpipe.runtime.stage + run_stage: a toy stage's rows and failures, a crashed worker retried, a broken
item recorded as failure rows, and a re-run that skips what is done (nothing written twice)."""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from irpipe.runtime.cluster import run_stage
from irpipe.runtime.failures import failure_row
from irpipe.runtime.stage import StageResult, make_stage, run_item


class Squares:
    """Item n -> one "squares" row; an odd n is also a failure row; 13 is broken (process raises);
    7 kills its worker on the first attempt (as a lost node would)."""

    name = "squares"

    def __init__(self, log: Path):
        self.log = log
        self.ready = False

    def setup(self) -> None:
        self.ready = True

    def process(self, n: int) -> StageResult:
        assert self.ready, "call setup() first"
        with open(self.log, "a") as fh:  # every attempt, in order
            fh.write(f"{n}\n")
        if n == 13:
            raise RuntimeError("thirteen is broken")
        crashed = self.log.with_name("crashed-once")
        if n == 7 and not crashed.exists():
            crashed.touch()
            os._exit(1)
        failures = [failure_row(f"n{n}", self.name, f"{n} is odd")] if n % 2 else []
        return StageResult({"squares": [{"n": n, "square": n * n}]}, failures,
                           {"modules": 1, "failed": len(failures)})

    def close(self) -> None:
        self.ready = False


@dataclass(frozen=True)
class JsonOutputs:
    """One JSON file per item, then its done marker."""

    root: Path
    desc: str = "items"
    unit: str = "it"

    def key(self, n: int) -> str:
        return f"n{n}"

    def size(self, n: int) -> int:
        return 1

    def is_done(self, n: int) -> bool:
        return (self.root / f"n{n}.done").exists()

    def clean(self) -> None:
        for tmp in self.root.glob("*.tmp"):
            tmp.unlink()

    def write(self, n: int, result: StageResult) -> dict[str, Any]:
        (self.root / f"n{n}.json").write_text(json.dumps({"rows": result.rows, "failures": result.failures}))
        (self.root / f"n{n}.done").touch()
        if n == 2:  # as a worker orphaned by an earlier, killed driver does when it dies mid-write
            (self.root / "n5.json.tmp").write_text("left after the first clean")
        return result.stats

    def lost(self, n: int, error: str) -> list[dict[str, Any]]:
        return [failure_row(f"n{n}", "worker", error)]


def attempts(log: Path) -> list[int]:
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def test_run_item_without_ray(tmp_path: Path) -> None:
    log = tmp_path / "log"
    outputs = JsonOutputs(tmp_path)
    assert run_item(Squares(log), outputs, 3) == {"modules": 1, "failed": 1}
    assert run_item(lambda: Squares(log), outputs, 4) == {"modules": 1, "failed": 0}  # a factory
    written = json.loads((tmp_path / "n3.json").read_text())
    assert written["rows"] == {"squares": [{"n": 3, "square": 9}]}
    assert written["failures"][0]["stage"] == "squares" and written["failures"][0]["error"] == "3 is odd"
    assert outputs.is_done(3) and outputs.is_done(4) and attempts(log) == [3, 4]
    stage = Squares(log)
    assert make_stage(stage) is stage and make_stage(lambda: stage) is stage
    assert isinstance(make_stage(functools.partial(Squares, log)), Squares)


@pytest.fixture(scope="module")
def ray_for_tests() -> Iterator[None]:
    import ray
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the toy stage is not importable
    yield
    if ray.is_initialized():
        ray.shutdown()


def test_run_stage_rows_failures_retries_and_resume(tmp_path: Path, ray_for_tests: None) -> None:
    log = tmp_path / "attempts"
    out = tmp_path / "out"
    out.mkdir()
    (out / "n1.json.tmp").write_text("left by a killed writer")
    items = [1, 2, 7, 13]
    run = run_stage(Squares(log), items, JsonOutputs(out), num_cpus=2, retries=1, object_store_mb=80,
                    progress=False)
    assert not list(out.glob("*.tmp"))  # one left before the run, one during it
    assert run.skipped == 0 and run.results[:3] == [{"modules": 1, "failed": 1}, {"modules": 1, "failed": 0},
                                                    {"modules": 1, "failed": 1}]
    assert run.results[3] is None  # broken: lost, not written, not done
    (lost,) = run.failures
    assert lost["recipe_id"] == "n13" and lost["stage"] == "worker" and "thirteen is broken" in lost["error"]
    assert not JsonOutputs(out).is_done(13) and not (out / "n13.json").exists()
    assert sorted(attempts(log)) == [1, 2, 7, 7, 13]  # 7 retried after its worker died; 13 not retried
    assert json.loads((out / "n7.json").read_text())["rows"] == {"squares": [{"n": 7, "square": 49}]}

    again = run_stage(Squares(log), [*items, 20], JsonOutputs(out), num_cpus=2, retries=1, progress=False)
    assert again.skipped == 3 and again.results[:3] == [None, None, None]
    assert again.results[4] == {"modules": 1, "failed": 0} and len(again.failures) == 1
    assert sorted(attempts(log)[5:]) == [13, 20]  # only what was not done ran again
    assert sorted(p.name for p in out.glob("*.json")) == ["n1.json", "n2.json", "n20.json", "n7.json"]
