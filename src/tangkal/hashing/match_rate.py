"""A banked signal's match rate and the quarantine rule, as pure functions of its state.

The state is five numbers per banked content (one database row, see
:mod:`tangkal.hashing.quarantine`), so counting a match is one ``UPDATE`` and deciding needs
no history rows:

* ``current`` and ``previous``: matches in the current window (aligned to the epoch) and in
  the one before. The matches in the *last* window are estimated as
  ``current + previous x (share of the previous window still inside the last window)``,
  the sliding-window counter rate limiters use: off by at most one window's unevenness,
  never by a boundary falling mid-flood.
* ``baseline_sum`` and ``baseline_weight``: an exponentially weighted mean of completed
  windows' counts, weight ``window / history`` per window, bias-corrected (sum / weight), so
  a week's history dominates after a week. Empty windows count as zero, so a quiet
  signal's baseline decays. A new content's weight is floored at a day's worth
  (:data:`WARMUP`): its first windows count as if the rest of its first day had been quiet,
  so a flood in its first hour cannot become its own baseline.

While a content is held its baseline does not learn (a flood must not become its own
excuse); its owner sets a new one on release (:func:`with_baseline`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tangkal.sop.profile import HashQuarantine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WARMUP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RateState:
    window_start: datetime
    current: int = 0
    previous: int = 0
    baseline_sum: float = 0.0
    baseline_weight: float = 0.0

    def baseline(self, rule: HashQuarantine) -> float:
        """Average matches per window over the history (0 before a window has completed)."""
        alpha = rule.window / rule.history
        floor = 1 - (1 - alpha) ** max(1.0, min(rule.history, WARMUP) / rule.window)
        return self.baseline_sum / max(self.baseline_weight, floor)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a content is held: the figures the rule compared."""

    recent: float
    baseline: float
    limit: float


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the window ``now`` falls in, windows aligned to the epoch (every process
    agrees on them without talking)."""
    size = window.total_seconds()
    return _EPOCH + timedelta(seconds=((now - _EPOCH).total_seconds() // size) * size)


def fresh(now: datetime, rule: HashQuarantine) -> RateState:
    return RateState(window_start(now, rule.window))


def rolled(state: RateState, now: datetime, rule: HashQuarantine, *, learn: bool) -> RateState:
    """The state moved on to the window of ``now``: the completed windows go into the
    baseline (unless ``learn`` is false: a held content's), ``previous`` is the last of
    them."""
    start = window_start(now, rule.window)
    if start <= state.window_start:
        return state
    passed = round((start - state.window_start) / rule.window)
    s, w = state.baseline_sum, state.baseline_weight
    if learn:
        alpha = rule.window / rule.history
        keep = 1 - alpha
        # the window that just completed, then ``passed - 1`` empty ones
        s, w = keep * s + alpha * state.current, keep * w + alpha
        decay = keep ** (passed - 1)
        s, w = s * decay, 1 - decay * (1 - w)
    return RateState(start, 0, state.current if passed == 1 else 0, s, w)


def counted(state: RateState, now: datetime, rule: HashQuarantine, *, learn: bool) -> RateState:
    """The state after one more match at ``now``."""
    r = rolled(state, now, rule, learn=learn)
    return replace(r, current=r.current + 1)


def recent(state: RateState, now: datetime, rule: HashQuarantine) -> float:
    """Estimated matches in the last window ending at ``now`` (``state`` rolled to it)."""
    into = (now - state.window_start) / rule.window
    return state.current + state.previous * max(0.0, 1.0 - into)


def limit(baseline: float, rule: HashQuarantine) -> float:
    return max(float(rule.min_matches), rule.factor * baseline)


def verdict(state: RateState, now: datetime, rule: HashQuarantine) -> Verdict | None:
    """A reason to hold the content, or None: its last window's matches exceed
    ``max(min_matches, factor x baseline)``."""
    if not rule.enabled:
        return None
    seen = recent(state, now, rule)
    base = state.baseline(rule)
    cap = limit(base, rule)
    return Verdict(seen, base, cap) if seen > cap else None


def with_baseline(state: RateState, baseline: float) -> RateState:
    """The state with its baseline set outright (a release: the owner's accepted rate), at
    full weight so it counts at once."""
    return replace(state, baseline_sum=max(0.0, baseline), baseline_weight=1.0)
