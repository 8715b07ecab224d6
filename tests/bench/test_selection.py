"""The speed selection (irpipe.bench.candidates.select_speed) on a fake builder and runner: which
screens are confirmed and which candidate is kept."""

from __future__ import annotations

from pathlib import Path

from irpipe.bench.build import Binary
from irpipe.bench.candidates import CONFIRM_PAIRS, CONFIRM_TOP, select_speed
from irpipe.bench.run import Outcome


class FakeBuilder:
    """Each pipeline's executable is a file named after it; "same" builds -O3's bytes."""

    def __init__(self, work: Path):
        self.work = work

    def exe(self, pipeline: str) -> Path:
        path = self.work / pipeline
        path.write_text("O3" if pipeline == "same" else pipeline)
        return path

    def build(self, label: str, plan, *, reuse: bool = False) -> Binary:
        return Binary(label, self.exe(plan("x.c", Path()).pipeline), 0, 0.0, {})


class FakeRunner:
    """CPU seconds per executable: a screen sequence first (per pipeline), then a steady value."""

    def __init__(self, screens: dict[str, list[float]], steady: dict[str, float]):
        self.screens, self.steady, self.runs = screens, steady, []

    def run(self, exe: Path) -> Outcome:
        self.runs.append(exe.name)
        queue = self.screens.get(exe.name)
        cpu = queue.pop(0) if queue else self.steady[exe.name]
        return Outcome("ok", cpu, cpu)


def _select(screens: dict[str, list[float]], steady: dict[str, float], work: Path) -> tuple[str, list[dict]]:
    from irpipe.bench.build import TUPlan

    runner = FakeRunner(screens, steady)
    builder = FakeBuilder(work)
    base = Binary("base", builder.exe("O3"), 0, 0.0, {})
    chosen, tried = select_speed(builder, runner, base, "O3", "ok", ["O3", *sorted(steady.keys() - {"O3"})], 0.02,
                                 lambda m: None, plan=lambda entry: (lambda rel, bc: TUPlan(entry)))
    assert "same" not in runner.runs  # a build byte-identical to the baseline is never timed
    return chosen, tried


def test_a_lucky_screen_does_not_hide_the_real_winner(tmp_path: Path) -> None:
    # "lucky" screens at 1.5x but is as fast as -O3; "real" screens at 1.1x and is 1.1x
    chosen, tried = _select({"lucky": [2 / 3, 2 / 3], "real": [1 / 1.1, 1 / 1.1]},
                            {"O3": 1.0, "lucky": 1.0, "real": 1 / 1.1}, tmp_path)
    assert CONFIRM_TOP >= 2 and chosen == "real"
    confirms = {t["pipeline"]: t for t in tried if "confirm_speedup" in t}
    assert not confirms["lucky"]["confirmed"] and confirms["real"]["confirmed"]
    assert confirms["real"]["confirm_speedup"] == 1.1
    # alone, the lucky screen is confirmed, fails, and -O3 stays
    assert _select({"lucky": [2 / 3, 2 / 3]}, {"O3": 1.0, "lucky": 1.0}, tmp_path)[0] == "O3"


def test_nothing_beyond_the_floor_keeps_the_baseline(tmp_path: Path) -> None:
    # "same" would time at 2x, but it is -O3's own binary: recorded, never run or chosen
    chosen, tried = _select({"same": [0.5, 0.5]}, {"O3": 1.0, "same": 0.5, "slower": 1.2}, tmp_path)
    assert chosen == "O3" and not any("confirm_speedup" in t for t in tried)
    assert {"pipeline": "same", "screen_speedup": 1.0, "same_binary": True} in tried


def test_a_confirmed_winner_must_hold_in_fresh_rounds_or_the_runner_up_gets_its_chance(tmp_path: Path) -> None:
    """The best of two confirmations is biased upwards: "curse" confirms at 1.25x and is as fast
    as -O3 afterwards, "real" confirms at 1.15x and is: the runner-up is kept."""
    curse = [0.8] * CONFIRM_PAIRS  # its confirmation rounds; afterwards, its steady 1.0
    chosen, tried = _select({"curse": [0.7, 0.7, *curse], "real": [0.8, 0.8]},
                            {"O3": 1.0, "curse": 1.0, "real": 1 / 1.15}, tmp_path)
    assert chosen == "real"
    fresh = [(t["pipeline"], t["fresh_speedup"], t["held"]) for t in tried if "fresh_speedup" in t]
    assert fresh == [("curse", 1.0, False), ("real", 1.15, True)]
    # alone, the cursed winner fails its fresh rounds and -O3 stays
    assert _select({"curse": [0.7, 0.7, *curse]}, {"O3": 1.0, "curse": 1.0}, tmp_path)[0] == "O3"
