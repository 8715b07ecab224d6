"""The one shape of a pipeline stage, and of where its results go.

Every job (extract, featurize, label, measure, measure-mlir) is a :class:`Stage` over items
(recipes, or units of a module shard) whose results an :class:`Outputs` writes;
:func:`irpipe.runtime.cluster.run_stage` runs one task per unfinished item on Ray.  Stages stay
Ray-free: their tests call ``setup()``, ``process()`` and ``close()`` directly.

Invariants a stage keeps:

* ``__init__`` is cheap and the instance pickles (it travels to the workers before ``setup``);
  ``setup()`` finds tools and starts children once per worker, ``close()`` stops them
  (idempotent), and ``process()`` may be called any number of times in between.
* ``process(item)`` never raises for a problem of the input (a package that does not build, a
  module LLVM cannot read): that problem is a FAILURES row of the result.  An exception out of
  ``process`` means the worker itself is broken; :func:`run_stage` retries and then records the
  item as lost.
* ``process(item)`` is a function of the item (and the stage's options): run twice, it returns
  the same rows, so a retried or resumed item yields what an undisturbed run would.
* ``rows`` is keyed by output table kind (:data:`irpipe.schema.TABLES`); each list holds rows of
  that table, and ``failures`` rows of FAILURES.  ``stats`` are the counters the item's done
  record keeps (``modules``, ``failed``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, TypeVar, Union

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
Row = dict[str, Any]


@dataclass
class StageResult:
    """What a stage made of one item: rows per output table kind, failure rows, counters."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    failures: list[Row] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol[T_contra]):
    """One step of a job over items of one type; see the module docstring for its invariants."""

    name: str  # the job's name in task names and messages (also the FAILURES stage of module stages)

    def setup(self) -> None:
        """Find tools and start children, once per worker."""

    def process(self, item: T_contra) -> StageResult:
        """The rows and failure rows of one item (never raises for a bad input)."""

    def close(self) -> None:
        """Stop what :meth:`setup` started (idempotent)."""


#: What :func:`irpipe.runtime.cluster.run_stage` takes: a stage, or a picklable factory of one
#: (called on the worker, once per item).
StageSource = Union[Stage[T], Callable[[], Stage[T]]]


class Outputs(Protocol[T]):
    """Where a job's results go, one item at a time, so that a re-run resumes.

    ``write`` runs on a worker and writes its done record LAST (an item is finished only when its
    record exists); the other methods run on the driver.
    """

    desc: str  # what the progress bar counts ("modules", "packages")
    unit: str  # its unit ("mod", "pkg")

    def key(self, item: T) -> str:
        """A stable, unique name of the item (task names, messages)."""

    def size(self, item: T) -> int:
        """How much of the progress bar the item is."""

    def is_done(self, item: T) -> bool:
        """Whether an earlier run finished the item (a re-run skips it)."""

    def clean(self) -> None:
        """Remove what killed writers left behind; called once before the items run."""

    def write(self, item: T, result: StageResult) -> dict[str, Any]:
        """Store ``result`` of ``item``, done record last; return the record (small: it goes
        back to the driver)."""

    def lost(self, item: T, error: str) -> list[Row]:
        """FAILURES rows for an item whose task failed past its retries (written where the job
        keeps them, or returned for the driver to keep); raise to stop the job instead."""


@dataclass
class StageRun(Generic[T]):
    """What :func:`irpipe.runtime.cluster.run_stage` did: per item its done record (None when it
    was skipped as done or lost), the failure rows of lost items, and how many were skipped."""

    results: list[dict[str, Any] | None]
    failures: list[Row] = field(default_factory=list)
    skipped: int = 0


def make_stage(source: StageSource[T]) -> Stage[T]:
    """The stage ``source`` is, or the one it makes when it is a factory (a class or a function)."""
    if isinstance(source, type) or not hasattr(source, "process"):
        return source()  # type: ignore[operator,call-arg]
    return source  # type: ignore[return-value]


def run_item(source: StageSource[T], outputs: Outputs[T], item: T) -> dict[str, Any]:
    """One item through a stage, written by ``outputs``: the body of every job's tasks."""
    stage = make_stage(source)
    stage.setup()
    try:
        result = stage.process(item)
    finally:
        stage.close()
    return outputs.write(item, result)
