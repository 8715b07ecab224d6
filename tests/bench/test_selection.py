"""The speed selection (irpipe.bench.candidates.select_speed) on a fake builder and runner: which
screens are confirmed and which candidate is kept."""

from __future__ import annotations

from pathlib import Path

from irpipe.bench.build import Binary
from irpipe.bench.candidates import CONFIRM_TOP, select_speed
from irpipe.bench.run import Outcome


class FakeBuilder:
    def build(self, label: str, plan, *, reuse: bool = False) -> Binary:
        pipeline = plan("x.c", Path()).pipeline
        return Binary(label, Path(pipeline), 0, 0.0, {})


class FakeRunner:
    """CPU seconds per executable: a screen sequence first (per pipeline), then a steady value."""

    def __init__(self, screens: dict[str, list[float]], steady: dict[str, float]):
        self.screens, self.steady, self.runs = screens, steady, []

    def run(self, exe: Path) -> Outcome:
        self.runs.append(str(exe))
        queue = self.screens.get(str(exe))
        cpu = queue.pop(0) if queue else self.steady[str(exe)]
        return Outcome("ok", cpu, cpu)


def _select(screens: dict[str, list[float]], steady: dict[str, float]) -> tuple[str, list[dict]]:
    from irpipe.bench.build import TUPlan

    runner = FakeRunner(screens, steady)
    base = Binary("base", Path("O3"), 0, 0.0, {})
    return select_speed(FakeBuilder(), runner, base, "O3", "ok", ["O3", *steady.keys() - {"O3"}], 0.02,
                        lambda m: None, plan=lambda entry: (lambda rel, bc: TUPlan(entry)))


def test_a_lucky_screen_does_not_hide_the_real_winner() -> None:
    # "lucky" screens at 1.5x but is as fast as -O3; "real" screens at 1.1x and is 1.1x
    chosen, tried = _select({"lucky": [2 / 3, 2 / 3], "real": [1 / 1.1, 1 / 1.1]},
                            {"O3": 1.0, "lucky": 1.0, "real": 1 / 1.1})
    assert CONFIRM_TOP >= 2 and chosen == "real"
    confirms = {t["pipeline"]: t for t in tried if "confirm_speedup" in t}
    assert not confirms["lucky"]["confirmed"] and confirms["real"]["confirmed"]
    assert confirms["real"]["confirm_speedup"] == 1.1
    # alone, the lucky screen is confirmed, fails, and -O3 stays
    assert _select({"lucky": [2 / 3, 2 / 3]}, {"O3": 1.0, "lucky": 1.0})[0] == "O3"


def test_nothing_beyond_the_floor_keeps_the_baseline() -> None:
    chosen, tried = _select({}, {"O3": 1.0, "same": 1.0, "slower": 1.2})
    assert chosen == "O3" and not any("confirm_speedup" in t for t in tried)
