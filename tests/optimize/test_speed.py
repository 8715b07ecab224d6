"""The speed screen's confirmation, with a scripted runner (no timing): a lucky screen that does
not hold must not cost the real winner its place."""

from __future__ import annotations

from dataclasses import dataclass

from irpipe.optimize.speed import CONFIRM_TOP, _SpeedScreen
from irpipe.optimize.result import SPEED_BASELINE


@dataclass
class Timed:
    median: float
    seconds: list[float]


class ScriptedRunner:
    """``measure(label)``: the label's screening median first, then its confirmation medians."""

    def __init__(self, screen: dict[str, float], confirm: dict[str, float]):
        self.screen, self.confirm, self.repeats, self.seen = screen, confirm, 5, set()

    def measure(self, label: str, bitcode: bytes | None = None) -> Timed:
        first = label not in self.seen
        self.seen.add(label)
        m = self.screen[label] if first else self.confirm[label]
        return Timed(m, [m] * 5)


def screened(screen: dict[str, float], confirm: dict[str, float]) -> _SpeedScreen:
    s = _SpeedScreen(ScriptedRunner(screen, confirm), "p.ll")
    for label in screen:
        if label != SPEED_BASELINE:
            s.measure(label)
    return s


def test_a_lucky_screen_that_fails_confirmation_leaves_the_second_its_chance() -> None:
    assert CONFIRM_TOP == 2
    s = screened({SPEED_BASELINE: 1.0, "lucky": 0.80, "real": 0.85, "third": 0.90},
                 {SPEED_BASELINE: 1.0, "lucky": 1.0, "real": 0.86, "third": 0.70})
    chosen, base, metric, note = s.confirm()
    assert (chosen, base, metric) == ("real", 1.0, 0.86) and "confirmed" in note
    confirmed = [t["pipeline"] for t in s.tried if "confirm_rounds" in t]
    assert confirmed == ["lucky", "real"]  # the fastest two only: "third" never goes to confirmation


def test_the_better_of_two_confirmed_wins_and_none_keeps_o3() -> None:
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 0.9, "b": 0.8})
    assert s.confirm()[0] == "b"
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 1.01, "b": 0.995})
    chosen, _, _, note = s.confirm()
    assert chosen == SPEED_BASELINE and note.startswith("no candidate held in confirmation (0.990x, 1.005x;")
    s = screened({SPEED_BASELINE: 1.0, "a": 0.999}, {})
    assert s.confirm()[0] == SPEED_BASELINE  # within the floor: nothing to confirm, nothing run
    assert not [t for t in s.tried if "confirm_rounds" in t]
