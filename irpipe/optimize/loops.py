"""Per-loop decisions in ``irpipe optimize --objective speed`` and ``irpipe bench``: the loop
policy's advice for one module, applied by the pass plugin inside opt-22's ``default<O3>``.

Loops are listed and decided at one point: the vectorizer start of ``default<O3>`` as opt-22
runs it with the plugin loaded (passes/include/irpipe/LoopAdvice.h).  The listing and the
build are the same opt-22 command on the same module, so each decision reaches the loop it was
made for; with no decision the build is byte for byte ``opt-22 -passes='default<O3>'`` (tested).
The decisions never force a vector width, so no FP reduction is reordered (the plugin refuses
that too); forced interleave counts are refused by LLVM on strict FP reductions.

    USAGE: policy = LoopAdviser.load()                        # models/loop-decisions
           loops = policy.advise(module)                      # {"main/L0.1": {"unroll": 8}, ...}
           bitcode = apply_loops(module, loops)               # -O3 with the decisions
           rule = loop_adviser('{"unroll": 8}')               # the static rule, same interface
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from irpipe.errors import ConfigError, IRError, ToolError
from irpipe.llvm.loops import loop_advice_doc, parse_loop_listing
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import jsonfile

#: the pipeline whose loops are decided: the speed baseline of optimize and bench
LOOP_PIPELINE = "default<O3>"
#: the released loop policy's folder name under models/
LOOP_MODEL = "loop-decisions"


def _opt(module: bytes, args: list[str], *, name: str, timeout_s: float, tools: Toolchain | None) -> Any:
    from irpipe.llvm.native import plugin_path

    plugin = plugin_path()
    if not plugin.is_file():
        from irpipe.paths import native_missing_hint

        raise IRError(f"{name}: per-loop decisions need the pass plugin {plugin} ({native_missing_hint()})")
    try:
        return (tools or Toolchain()).run("opt", [f"-load-pass-plugin={plugin}", f"-passes={LOOP_PIPELINE}", *args,
                                                  "-"], input=module, timeout=timeout_s)
    except ToolError as exc:
        raise IRError(f"{name}: opt-22 -passes='{LOOP_PIPELINE}' with the pass plugin: "
                      f"{str(exc).splitlines()[-1]}") from None


def loop_listing(module: bytes, *, name: str = "<module>", timeout_s: float = 300.0,
                 tools: Toolchain | None = None) -> list[dict[str, Any]]:
    """The loops of ``module`` at the vectorizer start of opt-22's ``default<O3>``, as the plugin
    lists them (id, shape and body facts; :func:`irpipe.llvm.loops.parse_loop_listing`)."""
    done = _opt(module, ["-irpipe-print-loops", "-disable-output"], name=name, timeout_s=timeout_s, tools=tools)
    return parse_loop_listing(done.stderr.decode("utf-8", errors="replace"))


def apply_loops(module: bytes, loops: dict[str, dict[str, Any]], *, name: str = "<module>",
                timeout_s: float = 300.0, tools: Toolchain | None = None) -> bytes:
    """``module`` through opt-22's ``default<O3>`` with ``loops`` (advice v2 decisions) applied by
    the plugin: the output bitcode.  :class:`IRError` naming the module when opt-22 fails."""
    with tempfile.TemporaryDirectory(prefix="irpipe-loops-") as tmp:
        advice_file = Path(tmp) / "loops.json"
        jsonfile.write(advice_file, loop_advice_doc(loops))
        done = _opt(module, [f"-irpipe-advice={advice_file}", "-o", "-"], name=name, timeout_s=timeout_s,
                    tools=tools)
    return done.stdout


def counting_build(module: bytes, *, name: str = "<module>", timeout_s: float = 300.0,
                   tools: Toolchain | None = None) -> bytes:
    """``module`` through opt-22's ``default<O3>`` with the plugin's loop counters
    (``-irpipe-profile-loops``: the same loops and ids, two volatile counters in each header; a run
    with ``IRPIPE_LOOP_PROFILE=FILE`` appends each loop's entries and iterations to FILE)."""
    return _opt(module, ["-irpipe-profile-loops", "-o", "-"], name=name, timeout_s=timeout_s, tools=tools).stdout


class LoopAdviser:
    """A loop policy (``irpipe train --problem loop-decisions``) as decisions for a module; the
    released checkpoint runs in numpy (:class:`~irpipe.nn.loop_policy.NumpyLoopPolicy`): no torch."""

    def __init__(self, policy: Any, directory: str):
        self.policy, self.directory = policy, directory

    @classmethod
    def load(cls, directory: str | Path | None = None) -> "LoopAdviser":
        """The policy in ``directory`` (default: the released models/loop-decisions)."""
        from irpipe.nn.loop_policy import NumpyLoopPolicy
        from irpipe.paths import model_dir

        path = str(directory or model_dir(LOOP_MODEL))
        return cls(NumpyLoopPolicy.load(path), path)

    def advise(self, module: bytes, *, name: str = "<module>", timeout_s: float = 300.0,
               tools: Toolchain | None = None) -> dict[str, dict[str, Any]]:
        """The policy's decisions for the loops of ``module`` (empty: -O3 everywhere)."""
        return self.policy.advice(loop_listing(module, name=name, timeout_s=timeout_s, tools=tools))


class StaticLoops:
    """The static rule the policy is compared with: one decision (e.g. ``{"unroll": 8}``) for every
    loop that may take it (:func:`irpipe.label.loops.takes_decision`)."""

    def __init__(self, decision: dict[str, Any]):
        from irpipe.optimize.advice import decision_errors

        errors = decision_errors(decision) if isinstance(decision, dict) and decision else ["not a decision object"]
        if errors:
            raise ConfigError(f"static loop rule {json.dumps(decision, default=repr)}: {'; '.join(errors)}")
        self.decision = dict(decision)
        self.directory = "static " + json.dumps(self.decision, sort_keys=True)

    def advise(self, module: bytes, *, name: str = "<module>", timeout_s: float = 300.0,
               tools: Toolchain | None = None) -> dict[str, dict[str, Any]]:
        """The rule's decision for each loop of ``module`` that may take it."""
        from irpipe.label.loops import takes_decision

        listing = loop_listing(module, name=name, timeout_s=timeout_s, tools=tools)
        ids = [lp["id"] for lp in listing]
        return {lp["id"]: dict(self.decision) for lp in listing if takes_decision(lp, ids, self.decision)}


def loop_adviser(spec: str | None) -> LoopAdviser | StaticLoops:
    """``spec``: a loop-decisions model directory (None: the released one), or a JSON decision
    object (``'{"unroll": 8}'``) for the static rule."""
    if spec and spec.lstrip().startswith("{"):
        try:
            decision = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"static loop rule {spec!r}: not JSON ({exc.msg})") from None
        return StaticLoops(decision)
    return LoopAdviser.load(spec)
