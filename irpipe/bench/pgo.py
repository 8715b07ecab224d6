"""``irpipe bench --pgo``: a profile-guided candidate of ``optimize``'s speed selection.

What an autotuner holding the program can do besides choosing decisions: compile it once with
LLVM's IR profile instrumentation (``opt-22 -pgo-kind=pgo-instr-gen-pipeline`` inside -O3, the
profile runtime linked), run that build on the **count workload** (the smaller input the loop
search scores on, not the timed one, so the profile is not trained on what is measured), merge
what it wrote (``llvm-profdata-22 merge``), and build -O3 again with the profile
(``-pgo-kind=pgo-instr-use-pipeline``): branch weights, block layout, hot/cold splitting,
inlining and unrolling by measured counts.  No flag reorders floating-point operations, so the
output must stay bit-identical (checked on the count workload here, and on the timed one by the
selection, like every candidate's).

The profiled candidate is screened and confirmed in CPU time with the others: it replaces -O3
only when the whole program holds its speedup.

    USAGE: plan, record = profile_plan(builder, runner, baseline, log=print)
           if plan: builder.build("pgo", plan)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from irpipe.bench.build import PGO_GEN, Binary, Builder, TUPlan
from irpipe.bench.run import RunFailed, Runner
from irpipe.errors import BuildError
from irpipe.optimize.result import SPEED_BASELINE

#: how the selection and the reports name the profile-guided candidate (its pipeline is -O3)
PGO_LABEL = SPEED_BASELINE + " + profile (PGO on the count workload)"


def profile_plan(builder: Builder, runner: Runner, baseline: Binary, *,
                 log: Callable[[str], None] = lambda m: None) -> tuple[Callable[[str, Path], TUPlan] | None, dict[str, Any]]:
    """(the plan of -O3 with the program's own profile, or None; a record for the result): the
    instrumented build, its run on the count workload (its output must equal the baseline's
    there) and the merged profile, kept under the builder's work folder."""
    try:
        gen = builder.build("pgo-gen", lambda rel, bc: TUPlan(SPEED_BASELINE, pgo=PGO_GEN))
        profile, out = runner.pgo_profile(gen.exe, builder.work / "profiles" / "count.profdata")
        if out != runner.count_output(baseline.exe):
            raise RunFailed("the instrumented build prints other output than the baseline on the count workload")
    except (BuildError, RunFailed) as exc:
        record = {"error": "pgo: " + str(exc).splitlines()[0][:200]}
        log(f"  {record['error']}")
        return None, record
    log(f"  pgo: profile of the count workload, {profile.stat().st_size:,} bytes")
    return (lambda rel, bc: TUPlan(SPEED_BASELINE, pgo=str(profile))), {"profile_bytes": profile.stat().st_size}
