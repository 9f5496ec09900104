"""The quarantine rule on injected time: a steady signal is never held, a burst is, and the
baseline follows a signal whose use grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tangkal.hashing import match_rate as mr
from tangkal.sop.profile import ConfigurationError, HashQuarantine, parse_profile, read_profile

RULE = HashQuarantine()
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def _run(
    state: mr.RateState, start: datetime, per_hour: int, hours: int, *, learn: bool = True
) -> tuple[mr.RateState, list[mr.Verdict]]:
    """``per_hour`` matches spread evenly over each of ``hours`` hours; the verdicts seen."""
    held = []
    for h in range(hours):
        for i in range(per_hour):
            at = start + timedelta(hours=h, seconds=3600 * i / per_hour)
            state = mr.counted(state, at, RULE, learn=learn)
            v = mr.verdict(state, at, RULE)
            if v is not None:
                held.append(v)
    return state, held


def test_a_steady_signal_is_never_held_however_busy() -> None:
    for per_hour in (3, 45, 400, 2000):
        state, held = _run(mr.fresh(T0, RULE), T0, per_hour, 24 * 3)
        if per_hour <= RULE.min_matches:
            assert held == []
        else:  # a new content busy from its first hour is held only while it warms up
            assert all(v.baseline < per_hour / RULE.factor for v in held)
        _, late = _run(state, T0 + timedelta(days=3), per_hour, 24)
        assert late == []
        assert state.baseline(RULE) == pytest.approx(per_hour, rel=0.01)


def test_a_steady_signal_with_history_is_not_held() -> None:
    state, _ = _run(mr.fresh(T0, RULE), T0, 30, 24 * 7)
    state, held = _run(state, T0 + timedelta(days=7), 30, 24 * 7)
    assert held == [] and state.baseline(RULE) == pytest.approx(30, rel=0.01)


def test_a_burst_is_held_with_its_figures() -> None:
    state, held = _run(mr.fresh(T0, RULE), T0, 20, 24 * 7)
    assert held == []
    burst_at = T0 + timedelta(days=7)
    for i in range(500):
        at = burst_at + timedelta(seconds=i)
        state = mr.counted(state, at, RULE, learn=True)
        v = mr.verdict(state, at, RULE)
        if v is not None:
            break
    assert v is not None
    assert v.baseline == pytest.approx(20, rel=0.01) and v.limit == pytest.approx(200, rel=0.01)
    assert v.recent > v.limit and i < 220  # held once past 10x, not later


def test_a_burst_below_the_floor_is_not_held() -> None:
    state, _ = _run(mr.fresh(T0, RULE), T0, 1, 24 * 7)
    state, held = _run(state, T0 + timedelta(days=7), RULE.min_matches - 5, 1)
    assert held == []


def test_the_baseline_adapts_to_slowly_growing_use() -> None:
    state, _ = _run(mr.fresh(T0, RULE), T0, 10, 24 * 7)
    # a rate that would be a burst against the first week's baseline (10 x 10 = 100)...
    grown, held = 10, []
    start = T0 + timedelta(days=7)
    for week in range(4):  # doubling each week
        grown *= 2
        state, h = _run(state, start + timedelta(days=7 * week), grown, 24 * 7)
        held += h
    assert grown == 160 and held == []
    assert state.baseline(RULE) > 10 * RULE.factor  # past the first week's whole limit


def test_quiet_hours_decay_the_baseline() -> None:
    state, _ = _run(mr.fresh(T0, RULE), T0, 100, 24)
    later = mr.rolled(state, T0 + timedelta(days=21), RULE, learn=True)
    assert later.baseline(RULE) < 5 and later.previous == 0 and later.current == 0


def test_a_held_content_does_not_learn_and_a_release_sets_the_baseline() -> None:
    state, _ = _run(mr.fresh(T0, RULE), T0, 10, 24)
    flooded, _ = _run(state, T0 + timedelta(days=1), 1000, 3, learn=False)
    assert flooded.baseline(RULE) == pytest.approx(state.baseline(RULE))
    at = T0 + timedelta(days=1, hours=3)
    assert mr.verdict(flooded, at, RULE) is not None
    released = mr.with_baseline(flooded, mr.recent(flooded, at, RULE))
    after = mr.counted(released, at, RULE, learn=True)
    assert mr.verdict(after, at, RULE) is None


def test_the_window_boundary_does_not_reset_the_count() -> None:
    at = T0 + timedelta(minutes=59)
    state = mr.fresh(at, RULE)
    for i in range(40):
        state = mr.counted(state, at + timedelta(seconds=i), RULE, learn=True)
    for i in range(40):  # next window: the last hour still holds all 80
        state = mr.counted(state, T0 + timedelta(hours=1, seconds=i), RULE, learn=True)
    assert mr.verdict(state, T0 + timedelta(hours=1, seconds=40), RULE) is not None


def test_the_profile_table_is_strict() -> None:
    base = read_profile("indonesia").document()
    assert base["hash_quarantine"]["min_matches"] == 50
    for bad in ({"min_matche": 5}, {"factor": 1}, {"window": "2h", "history": "3h"}):
        with pytest.raises(ConfigurationError, match="hash_quarantine"):
            parse_profile({**base, "hash_quarantine": bad}, "test")
    ok = parse_profile({**base, "hash_quarantine": {"min_matches": 5, "factor": 4}}, "t")
    assert ok.hash_quarantine.factor == 4.0
