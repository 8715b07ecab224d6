"""The model's answers to advise requests, for ``irpipe serve``'s batch worker.

One batch of validated advise requests in, one reply each out: parse each module (in the
isolated LLVM child) for what the model reads, predict once per distinct input, and turn
the prediction into the advise reply.  Two caches, both bounded by ``cache_size`` entries:
predictions by what the model reads (``Predictor.cache_key``: a build that compiles each
file twice, static and -fPIC, pays one inference) and, in front of it, the parse facts by
a digest of the bytes (the same bytes again, as in a rebuild, are answered without a parse) and
by the model-input digest the pass plugin sends (a file's -fPIC twin: other bytes, the same graph;
only digests computed here from a parse are stored, so a client's wrong digest misleads only itself).
With ``record``, each answer is kept as an advice entry for its source file.

    USAGE: answers = Answers(predictor, count=server._count, log=server._log, record=True)
           replies = answers.batch([validate(r) for r in requests])   # one reply per request
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Callable

from irpipe.errors import IrpipeError


def _line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return text[0][:400] if text else type(exc).__name__


class Answers:
    """Advise replies from a loaded model (a :class:`~irpipe.train.predict.Predictor`).

    Args:
        predictor: the model.
        count: ``count(stat, n)`` adds to the server's health stats.
        log: ``log(key, line)`` logs one rate-limited warning.
        cache_size: entries kept in each cache (least recently added dropped first).
        record: keep each answer as an advice entry in ``recorded`` (by source file).
    """

    def __init__(self, predictor: Any, *, count: Callable[..., None], log: Callable[[str, str], None],
                 cache_size: int = 4096, record: bool = False):
        self.predictor, self.count, self.log = predictor, count, log
        self.cache_size, self.record = cache_size, record
        self.cache: "OrderedDict[str, Any]" = OrderedDict()  # model-input key -> Prediction
        self.seen: "OrderedDict[bytes, tuple[str, int, bool]]" = OrderedDict()  # sha256 of bytes -> key and facts
        # input digests of modules parsed here -> key and facts (only digests computed here are stored)
        self.inputs: "OrderedDict[str, tuple[str, int, bool]]" = OrderedDict()
        self.recorded: dict[str, dict[str, Any]] = {}

    def batch(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One reply per validated advise request, in order (a bad module gets its error)."""
        parsed, replies = [], {}  # parsed: (index, model input or None, cache key, facts)
        for i, request in enumerate(requests):
            digest = hashlib.sha256(request["module"]).digest()
            known = self.seen.get(digest)
            if known is None and request.get("digest") and getattr(self.predictor, "digest_covers_input", False):
                known = self.inputs.get(request["digest"])  # a twin: other bytes, the same model input
                if known is not None and known[0] in self.cache:
                    self.count("digest_hits")
            if known is not None and known[0] in self.cache:  # the same bytes or model input again: no parse
                parsed.append((i, None, known[0], known[1:]))
                continue
            try:
                x = self.predictor.inputs(request["module"], name=request["source"] or "<module>", digest=True)
            except IrpipeError as exc:
                self.count("errors")
                replies[i] = {"ok": False, "error": f"bad module: {str(exc).splitlines()[0] if str(exc) else exc!r}"}
                continue
            facts = (int(x.instructions), "main" in x.graph.functions)  # the graph's functions are the defined ones
            key = self.predictor.cache_key(x)
            self.seen[digest] = (key, *facts)
            if x.digest:
                self.inputs[x.digest] = self.seen[digest]
            parsed.append((i, x, key, facts))
        todo = {key: x for _, x, key, _ in parsed if x is not None and key not in self.cache}
        if todo:
            for key, pred in zip(todo, self.predictor.predict_inputs(list(todo.values()))):
                self.cache[key] = pred
            self.count("batches")
        for table in (self.cache, self.seen, self.inputs):
            while len(table) > self.cache_size:
                table.popitem(last=False)
        self.count("modules", len(parsed))
        self.count("cache_hits", len(parsed) - len(todo))
        for i, _, key, facts in parsed:
            try:
                replies[i] = self.advise(requests[i], *facts, self.cache[key])
            except Exception as exc:  # noqa: BLE001 -- one module's bug costs its reply; logged
                self.count("errors")
                self.log(f"advise-{type(exc).__name__}", f"advise: {_line(exc)}")
                replies[i] = {"ok": False, "error": f"internal error: {_line(exc)}"}
        return [replies[i] for i in range(len(requests))]

    def advise(self, request: dict[str, Any], instructions: int, has_main: bool, pred: Any) -> dict[str, Any]:
        """The answer for one module's prediction (no compile: the caller has a deadline)."""
        from irpipe.optimize.apply import candidates

        objective = request["objective"]
        out = {"ok": True, "candidates": candidates(self.predictor, pred, objective, request["verify"]),
               "instructions": instructions, "has_main": has_main}
        if objective == "speed":  # chosen by running the program: no pipeline without compiles
            return out
        first = pred.ranking(objective)[0]
        # keep the reference unless the cost head also predicts a gain
        cost = pred.predicted(objective)
        ref = self.predictor.pset.pipelines[self.predictor.meta["reference"]]
        if cost[pred.pipelines.index(first)] >= cost[pred.pipelines.index(ref)]:
            first = ref
        if self.record and request["source"] and request.get("record", True):
            from irpipe.optimize import advice

            self.recorded[request["source"]] = advice.module_advice("", request["source"], objective, first)
        return {**out, "pipeline": first}
