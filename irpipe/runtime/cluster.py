"""Ray plumbing: :func:`run_stage`, the one way a job (``irpipe/*/job.py``) runs its stage on Ray,
and :func:`init_ray`; with the Ray Train job (``irpipe/train/job.py``) the only code that imports ray.

Where a job runs.  Without ``--address`` it starts a private local Ray for this process,
whatever else runs on the machine: ``ray.init(address="local")``.  (A bare ``ray.init()`` joins
the instance named by RAY_ADDRESS or by ``/tmp/ray/ray_current_cluster`` and then rejects
``num_cpus``.)  Only ``--address`` chooses a cluster: ``--address auto`` is the one RAY_ADDRESS
names (``ray job submit`` sets it for its entrypoint) or the one ``ray start`` started on this
machine; ``--address HOST:PORT`` or ``ray://HOST:10001`` a given one.  A RAY_ADDRESS in the
environment alone is not used (a note says so), and is dropped from this process's environment
so that nothing below connects there.

The private instance, set up here rather than by environment variables:

* Authentication: Ray 2.60 turns token authentication on for a new local instance when
  RAY_AUTH_MODE is unset, and warns about it on every run.  Here the mode is set explicitly to
  ``token``, with a fresh random token for this run that Ray's processes get in their
  environment (RAY_AUTH_TOKEN) and that is never written to disk; so no warning, and Ray's ports
  (bound on every interface) do not take work from anyone without the token.  An explicit
  RAY_AUTH_MODE (``disabled`` in the test suite) is respected.
* Files: Ray makes every folder it creates world-writable (0777: its temp, session, log and
  socket folders, so that several users can share /tmp/ray).  Its folder lies inside a private
  0700 folder ``irpipe-ray-*`` under RAY_TMPDIR or TMPDIR (else /tmp: the socket paths inside
  must stay under 108 bytes), removed when the process exits.  A SIGKILLed driver leaves it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import ray
from tqdm import tqdm

from irpipe.errors import JobError
from irpipe.runtime.files import printable
from irpipe.runtime.stage import Outputs, StageRun, StageSource, run_item

K = TypeVar("K")
T = TypeVar("T")
SOCKET_PATH_MAX = 107  # bytes in a Unix socket path (sun_path is 108, NUL included)
# what Ray appends to the private folder: /r/session_YYYY-MM-DD_HH-MM-SS_NNNNNN_PID/sockets/plasma_store
RAY_SOCKET_SUFFIX = len("/r/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store") + 4
PRIVATE_PREFIX = "irpipe-ray-"


def private_temp_dir() -> Path:
    """A fresh 0700 folder for a private Ray's files, short enough for Ray's socket paths;
    under RAY_TMPDIR, TMPDIR or /tmp, the first that is short enough and writable."""
    longest = len(PRIVATE_PREFIX) + 9 + RAY_SOCKET_SUFFIX  # mkdtemp adds 8 characters and a slash
    for base in (os.environ.get("RAY_TMPDIR"), tempfile.gettempdir(), "/tmp"):
        if base and len(os.path.abspath(base)) + longest <= SOCKET_PATH_MAX and os.access(base, os.W_OK):
            return Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=os.path.abspath(base)))
    raise JobError(f"no writable temporary folder short enough for Ray's sockets (at most "
                   f"{SOCKET_PATH_MAX - longest} characters): set TMPDIR=/tmp")


def _private_auth() -> None:
    """Token authentication with a per-run token, unless RAY_AUTH_MODE says otherwise."""
    if "RAY_AUTH_MODE" in os.environ:
        return  # the user's choice; Ray respects it and does not warn
    os.environ["RAY_AUTH_MODE"] = "token"
    if not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    from ray._raylet import Config

    Config.initialize("")  # Ray read RAY_AUTH_MODE when imported; ray.init re-reads it the same way


def _cleanup_at_exit(top: Path) -> None:
    def cleanup() -> None:
        if ray.is_initialized():  # Ray's processes gone first: a dying one could make its folder again
            ray.shutdown(wait_for_processes=True)  # Ray's own atexit shutdown then has nothing to do
        shutil.rmtree(top, ignore_errors=True)

    atexit.register(cleanup)


@contextlib.contextmanager
def _utf8_entrypoint() -> Iterator[None]:
    """Ray hands the driver's command line (read from /proc) to C++ as UTF-8, so a file name
    that is not UTF-8 among the arguments stopped ``ray.init`` with UnicodeEncodeError: give
    Ray the line with such bytes escaped (``\\udcff``) while it starts."""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    original = getattr(utils, "get_entrypoint_name", None)
    if original is None:  # another Ray: nothing to mend
        yield
        return
    utils.get_entrypoint_name = lambda: printable(original())
    try:
        yield
    finally:
        utils.get_entrypoint_name = original


def init_ray(address: str | None, num_cpus: int | None, object_store_mb: int,
             log_to_driver: bool = False) -> None:
    """Join the Ray cluster at ``address`` (``auto``: RAY_ADDRESS or the one ``ray start`` started
    here), or with ``address=None`` start a private local Ray with ``num_cpus`` CPUs (workers'
    output is shown here only with ``log_to_driver``).  See the module docstring."""
    if ray.is_initialized():
        return
    if address:
        with _utf8_entrypoint():
            ray.init(address=address, log_to_driver=log_to_driver)
        return
    if os.environ.pop("RAY_ADDRESS", ""):
        print("irpipe: note: RAY_ADDRESS is set but not used: jobs run on a private local Ray "
              "unless --address is given (--address auto joins the cluster RAY_ADDRESS names)",
              file=sys.stderr, flush=True)
    _private_auth()
    top = private_temp_dir()
    _cleanup_at_exit(top)
    with _utf8_entrypoint():
        ray.init(address="local", num_cpus=num_cpus, object_store_memory=object_store_mb * 1024 * 1024,
                 include_dashboard=False, log_to_driver=log_to_driver, _temp_dir=str(top / "r"))


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


def _run_item(source: StageSource[T], outputs: Outputs[T], item: T) -> dict[str, Any]:
    """Ray task body: one item through its stage, written by ``outputs`` (idempotent)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return run_item(source, outputs, item)


def _postfix(key: str, info: dict[str, Any]) -> str:
    said = [str(info["status"])] if "status" in info else []
    said += [f"{info[k]} {k}" for k in ("modules", "failed") if k in info]
    return f"{key}: {' '.join(said)}"


def run_stage(stage: StageSource[T], items: Sequence[T], outputs: Outputs[T], *, name: str | None = None,
              address: str | None = None, num_cpus: int | None = None, retries: int = 3,
              object_store_mb: int = 512, progress: bool = True,
              cpus: Callable[[T], int] | None = None) -> StageRun[T]:
    """Run ``stage`` over every unfinished item as one Ray task each, with a progress bar: the one
    way every job (extract, featurize, label, measure, measure-mlir) reaches Ray.

    ``stage`` is a stage (pickled once, a fresh copy per task) or a factory of one; each task runs
    ``setup``, ``process(item)``, ``close`` and ``outputs.write`` on its worker.  Items that
    ``outputs`` says are done are skipped (a re-run after a killed driver redoes only the rest).
    A task lost with its worker (a node gone, a crashed process) is retried ``retries`` times; an
    exception out of the stage is not (the same item would raise again).  An item whose task
    failed for good is recorded by ``outputs.lost`` as failure rows (returned in ``failures``) and
    stays unfinished for the next run: never lost, never written twice.  Temporaries are cleaned
    before the items run and again after the last one.  ``cpus(item)``: the CPUs
    a task reserves (default 1).  Ray starts only when some item is left to run.
    """
    items = list(items)
    name = name or getattr(stage, "name", None) or "stage"
    outputs.clean()
    pending = [i for i, item in enumerate(items) if not outputs.is_done(item)]
    run: StageRun[T] = StageRun([None] * len(items), skipped=len(items) - len(pending))
    if pending:
        init_ray(address, num_cpus, object_store_mb)
    total = sum(outputs.size(item) for item in items)
    bar = tqdm(total=total, initial=total - sum(outputs.size(items[i]) for i in pending), desc=outputs.desc,
               unit=outputs.unit, disable=not progress, file=sys.stderr)
    try:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_run_item)
        shared = (ray.put(stage), ray.put(outputs)) if pending else ()  # once, not once per task
        futures = {task.options(name=f"{name}:{outputs.key(items[i])}",
                                num_cpus=cpus(items[i]) if cpus else 1).remote(*shared, items[i]): i
                   for i in pending}
        for i, info, exc in as_completed(futures):
            key = outputs.key(items[i])
            if exc is None:
                run.results[i] = info
                bar.set_postfix_str(_postfix(key, info))
            else:
                print(f"{name}: {key} not finished: {exc}", file=sys.stderr)
                run.failures += outputs.lost(items[i], f"worker lost or crashed: {exc}")
            bar.update(outputs.size(items[i]))
    finally:
        bar.close()
    if pending:  # a worker orphaned by an earlier, killed driver may have died mid-write after the
        outputs.clean()  # first clean; every task of this run has finished, so no temporary is live
    return run
