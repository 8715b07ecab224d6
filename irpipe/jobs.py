"""Ray plumbing shared by the job modules (``irpipe/*/job.py``), the only code that imports ray."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import ray
from tqdm import tqdm

from irpipe.extract import shards

K = TypeVar("K")


def init_ray(address: str | None, num_cpus: int | None, object_store_mb: int,
             log_to_driver: bool = False) -> None:
    """Connect to ``address``/RAY_ADDRESS, or start an embedded local Ray (workers' output is
    shown here only with ``log_to_driver``)."""
    if ray.is_initialized():
        return
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, log_to_driver=log_to_driver)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=object_store_mb * 1024 * 1024,
                 include_dashboard=False, log_to_driver=log_to_driver)


def as_completed(futures: dict[Any, K]) -> Iterator[tuple[K, Any, Exception | None]]:
    """Yield ``(key, result, None)`` as each task finishes, or ``(key, None, error)`` when its
    worker was lost or crashed past its retries."""
    remaining = list(futures)
    while remaining:
        done, remaining = ray.wait(remaining, num_returns=1)
        key = futures[done[0]]
        try:
            result = ray.get(done[0])
        except (ray.exceptions.RayError, OSError) as exc:
            yield key, None, exc
            continue
        yield key, result, None


def run_units(out: Path, units: list, body: Callable[..., dict[str, Any]], args: tuple, *,
              name: str, address: str | None = None, num_cpus: int | None = None,
              retries: int = 3, object_store_mb: int = 512, progress: bool = True) -> None:
    """Run ``body(unit, *args)`` as one Ray task per unfinished unit, with a progress bar.

    Finished units (done marker for the same input bytes) are skipped; a task lost
    with its worker is retried ``retries`` times, then left for the next run (it stays
    in the manifest's ``not_finished``).
    """
    from irpipe.data.units import is_done

    shards.clean_temporaries(out)
    pending = [u for u in units if not is_done(out, u)]
    init_ray(address, num_cpus, object_store_mb)
    task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(body)
    futures = {task.options(name=f"{name}:{u.id}").remote(u, *args): u for u in pending}
    total = sum(u.stop - u.start for u in units)
    bar = tqdm(total=total, initial=total - sum(u.stop - u.start for u in pending), desc="modules",
               unit="mod", disable=not progress, file=sys.stderr)
    for unit, info, exc in as_completed(futures):
        if exc is None:
            bar.set_postfix_str(f"{unit.id}: {info.get('modules', 0)} ok, {info.get('failed', 0)} failed")
        else:
            print(f"{name}: unit {unit.id} lost after {retries} retries: {exc}", file=sys.stderr)
        bar.update(unit.stop - unit.start)
    bar.close()
