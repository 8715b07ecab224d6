"""Learning problems as plugins: phase ordering, inlining, MLIR cost (see :mod:`irpipe.problems.base`).

    USAGE: from irpipe.problems import get; get("inliner").evaluate(EvalRequest())
"""

from irpipe.problems.base import PROBLEMS, EvalRequest, Problem, TrainOptions, get, names

__all__ = ["PROBLEMS", "EvalRequest", "Problem", "TrainOptions", "get", "names"]
