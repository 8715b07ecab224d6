"""The speed screen's confirmation, with a scripted runner (no timing): a lucky screen that does
not hold must not cost the real winner its place."""

from __future__ import annotations

from dataclasses import dataclass

from irpipe.label.runtime import CONFIRM_ROUNDS
from irpipe.optimize.speed import CONFIRM_TOP, _SpeedScreen
from irpipe.optimize.result import SPEED_BASELINE


@dataclass
class Timed:
    median: float
    seconds: list[float]


class ScriptedRunner:
    """``measure(label)``: the label's screening median first, then its confirmation medians, and
    after CONFIRM_ROUNDS of those its ``fresh`` median (default: the confirmation's); -O3's
    confirmation median throughout."""

    def __init__(self, screen: dict[str, float], confirm: dict[str, float], fresh: dict[str, float] | None = None):
        self.screen, self.confirm, self.fresh, self.repeats = screen, confirm, fresh or {}, 5
        self.calls: dict[str, int] = {}

    def measure(self, label: str, bitcode: bytes | None = None) -> Timed:
        n = self.calls[label] = self.calls.get(label, -1) + 1
        m = (self.screen[label] if n == 0 else self.confirm[label]
             if n <= CONFIRM_ROUNDS or label == SPEED_BASELINE else self.fresh.get(label, self.confirm[label]))
        return Timed(m, [m] * 5)


def screened(screen: dict[str, float], confirm: dict[str, float], fresh: dict[str, float] | None = None) -> _SpeedScreen:
    s = _SpeedScreen(ScriptedRunner(screen, confirm, fresh), "p.ll")
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
    assert confirmed == ["lucky", "real", "real"]  # the fastest two only ("third" never), then the winner's fresh rounds
    assert [t.get("fresh", False) for t in s.tried if "confirm_rounds" in t] == [False, False, True]


def test_the_better_of_two_confirmed_wins_and_none_keeps_o3() -> None:
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 0.9, "b": 0.8})
    assert s.confirm()[0] == "b"
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 1.01, "b": 0.995})
    chosen, _, _, note = s.confirm()
    assert chosen == SPEED_BASELINE and note.startswith("no candidate held in confirmation (0.990x, 1.005x;")
    s = screened({SPEED_BASELINE: 1.0, "a": 0.999}, {})
    assert s.confirm()[0] == SPEED_BASELINE  # within the floor: nothing to confirm, nothing run
    assert not [t for t in s.tried if "confirm_rounds" in t]


def test_the_winner_is_reported_from_fresh_rounds_and_must_hold_there() -> None:
    """The best of two confirmations is biased upwards: the fresh rounds are reported, and a
    winner that does not hold in them leaves -O3 in place."""
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.9},
                 {"a": 0.90})
    chosen, base, metric, note = s.confirm()
    assert (chosen, base, metric) == ("a", 1.0, 0.90)
    assert note.startswith("confirmed at 1.250x, then 1.111x in 3 fresh interleaved rounds (reported;")
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80}, {SPEED_BASELINE: 1.0, "a": 0.80}, {"a": 0.995})
    chosen, base, metric, note = s.confirm()
    assert (chosen, metric) == (SPEED_BASELINE, 1.0)
    assert note.startswith("the fastest confirmed at 1.250x, then 1.005x in 3 fresh interleaved rounds: kept default<O3>")


def test_a_winner_that_fails_its_fresh_rounds_gives_the_runner_up_its_chance() -> None:
    s = screened({SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85}, {SPEED_BASELINE: 1.0, "a": 0.80, "b": 0.85},
                 {"a": 0.995, "b": 0.86})
    chosen, base, metric, note = s.confirm()
    assert (chosen, base, metric) == ("b", 1.0, 0.86)
    assert note.startswith("the fastest confirmed at 1.250x, then 1.005x in 3 fresh interleaved rounds; "
                           "the next confirmed at 1.176x, then 1.163x in 3 fresh interleaved rounds (reported;")
    assert [t["pipeline"] for t in s.tried if t.get("fresh")] == ["a", "b"]
