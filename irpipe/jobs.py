"""Ray plumbing shared by the job modules (``irpipe/*/job.py``), the only code that imports ray."""

from __future__ import annotations

import os
from typing import Any, Iterator, TypeVar

import ray

K = TypeVar("K")


def init_ray(address: str | None, num_cpus: int | None, object_store_mb: int) -> None:
    """Connect to ``address``/RAY_ADDRESS, or start an embedded local Ray."""
    if ray.is_initialized():
        return
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=object_store_mb * 1024 * 1024,
                 include_dashboard=False, log_to_driver=False)


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
