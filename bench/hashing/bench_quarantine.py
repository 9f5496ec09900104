"""What counting matches for the quarantine costs on the match path, measured so that a
shared, noisy machine cannot fake the answer.

One request is ``matching.match`` of one PDQ signal that matches one banked content, in its
own unit of work (commit included, as a request pays it). Four arms:

* ``off``: no quarantine at all (``quarantine.screen`` a no-op, and the contents loaded
  without their rate rows: ``quarantine.with_rates`` the identity);
* ``select``: the previous version, this process's counts written once a second and the
  contents' rate rows read by a ``SELECT`` of their own after the contents are loaded;
* ``joined``: the shipped counting, batched the same way, the rate rows read by the statement
  that loads the contents (an outer join, no statement of its own);
* ``every``: the first version, a write of the count in every matching lookup
  (``screen(..., flush=True)``, rows read by the join).

The one content is never held, and the rule's arithmetic runs in full on every lookup: its
rate row is given a baseline no request approaches and the rule's floor (``min_matches``) is
1, so no lookup past the first stops at the floor (the usual lookup, of a content matching
less than the floor an hour, stops there and costs less than measured here).

The arms run in the same process, interleaved request by request: ``--triples`` times one
request of each arm (the option keeps its name from when there were three), the order rotated
every time (off/select/joined/every, select/joined/every/off, ...), so load that comes and goes
on a shared machine falls on every arm alike instead of on whichever ran last. Each batched
arm keeps its own once-a-second clock and unwritten counts (the other arms' time does not
count towards its write), so it writes as often as it would running alone. Reported per arm:
the median request time, its ratio to ``off``'s, and the median of the paired differences
(each request minus the ``off`` request of the same round) with a distribution-free 95%
interval. An interval that contains 0 means this run cannot tell the arm from no counting,
and the verdict line says so; ``every`` is the check that the run can see a cost that is
there.

On SQLite (a file) always, and on PostgreSQL when ``TANGKAL_BENCH_PG`` names a database (which
is EMPTIED: its ``public`` schema is dropped; give it a database of its own).

    python3 -m bench.hashing.bench_quarantine [--triples N]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.db.base import utcnow
from tangkal.db.migrate import upgrade
from tangkal.db.session import Database
from tangkal.hashing import banks, content, matching, quarantine
from tangkal.hashing import match_rate as mr
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import BankContent
from tangkal.hashing.quarantine_models import MatchRate
from tangkal.sop.profile import HashQuarantine

ARMS = ("off", "select", "joined", "every")
BATCHED = ("select", "joined")


def _setup(db: Database, data: Path) -> tuple[Principal, BankIndexes, str]:
    upgrade(db)
    from tangkal.accounts.models import Organization

    with db.unit_of_work() as s:
        org = Organization(name="bench-reg", display_name="Bench", kind=OrgKind.REGULATOR)
        s.add(org)
        s.flush()
        p = Principal(
            org_id=org.id, org_name=org.name, org_kind=OrgKind.REGULATOR, role=Role.ANALYST
        )
        banks.create_bank(s, p, "bench-bank")
        sig = "f" * 16 + "0" * 48
        content.add_signal(s, p, "bench-bank", "pdq", sig)
    return p, BankIndexes(db, data), sig


def _one(db: Database, p: Principal, idx: BankIndexes, q: list[matching.Query]) -> float:
    """One request's time in microseconds."""
    t = time.perf_counter()
    with db.unit_of_work() as s:
        assert matching.match(s, p, idx, q)
    return (time.perf_counter() - t) * 1e6


def _median_ci(xs: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95% interval for it (order statistics: ranks
    n/2 -+ 1.96 sqrt(n) / 2), so no assumption about the shape of the noise."""
    ys = sorted(xs)
    n = len(ys)
    half = 0.98 * math.sqrt(n)
    lo = max(0, math.floor(n / 2 - half))
    hi = min(n - 1, math.ceil(n / 2 + half))
    return statistics.median(ys), ys[lo], ys[hi]


def run(url: str, data: Path, triples: int) -> None:
    db = Database(url)
    if not db.is_sqlite:
        with db.engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    p, idx, sig = _setup(db, data)
    q = [matching.Query("pdq", sig)]
    real_screen, real_rule, real_write = quarantine.screen, quarantine.rule, quarantine._write
    real_with_rates = quarantine.with_rates
    writes = dict.fromkeys(ARMS, 0)
    current = ["off"]

    def counting_write(*a: Any, **kw: Any) -> Any:
        writes[current[0]] += 1
        return real_write(*a, **kw)

    def own_select(session: Any, contents: Any, *, rates: Any = None, **kw: Any) -> Any:
        # the previous version: the rows not handed over, so screen reads them itself
        return real_screen(session, contents, **kw)

    def every_lookup(session: Any, contents: Any, *, rates: Any = None, **kw: Any) -> Any:
        # a write now (the batched arms' clocks are kept apart by request())
        return real_screen(session, contents, rates=rates, now=kw.get("now"), flush=True)

    screens: dict[str, Callable[..., Any]] = {
        "off": lambda session, contents, **kw: {},
        "select": own_select,
        "joined": real_screen,
        "every": every_lookup,
    }
    loads: dict[str, Callable[..., Any]] = {
        "off": lambda stmt: stmt,
        "select": lambda stmt: stmt,
        "joined": real_with_rates,
        "every": real_with_rates,
    }
    # each batched arm's own once-a-second clock and pending counts: (flushed_at, paused_at)
    clocks = {arm: [0.0, 0.0] for arm in BATCHED}
    pending: dict[str, dict[int, Any]] = {arm: {} for arm in BATCHED}

    def request(arm: str) -> float:
        current[0] = arm
        quarantine.screen = screens[arm]
        quarantine.with_rates = loads[arm]
        if arm not in BATCHED:
            quarantine._pending.clear()  # the batched arms' unwritten counts are theirs
            return _one(db, p, idx, q)
        # a batched arm keeps a clock of its own: the time other arms ran does not count
        # towards its once-a-second write, so it writes as often as it would running alone
        clock = clocks[arm]
        if clock[1]:
            clock[0] += time.monotonic() - clock[1]
        quarantine._flushed_at = clock[0]
        quarantine._pending.clear()
        quarantine._pending.update(pending[arm])
        took = _one(db, p, idx, q)
        clock[0], clock[1] = quarantine._flushed_at, time.monotonic()
        pending[arm] = dict(quarantine._pending)
        return took

    # the same content matches every request, never held, the arithmetic in full: (nearly)
    # no floor, and a baseline no request approaches
    full = HashQuarantine(min_matches=1)  # built once, as the profile's rule is
    quarantine.rule = lambda: full
    with db.unit_of_work() as s:
        banked = s.scalars(select(BankContent)).one()
        now = utcnow()
        quarantine._prepare(s, {banked.id: banked}, mr.window_start(now, full.window), now)
        s.execute(update(MatchRate).values(baseline_sum=1e9, baseline_weight=1.0))
    quarantine._write = counting_write
    took: dict[str, list[float]] = {arm: [] for arm in ARMS}
    load0 = os.getloadavg()
    started = time.monotonic()
    try:
        for _ in range(30):  # warm every path (index load, statement caches)
            for arm in ARMS:
                request(arm)
        writes.update(dict.fromkeys(ARMS, 0))
        for i in range(triples):
            k = i % len(ARMS)
            for arm in ARMS[k:] + ARMS[:k]:
                took[arm].append(request(arm))
    finally:
        quarantine.screen, quarantine.rule = real_screen, real_rule
        quarantine._write, quarantine.with_rates = real_write, real_with_rates
    elapsed = time.monotonic() - started
    load1 = os.getloadavg()
    name = db.engine.dialect.name
    print(
        f"\n{name}: {triples} interleaved requests per arm, {elapsed:.0f} s; "
        f"load average {load0[0]:.2f} at start, {load1[0]:.2f} at end "
        f"({os.cpu_count()} CPUs)"
    )
    print(
        f"{'arm':8s} {'median us':>10s} {'x off':>7s} "
        f"{'paired cost us: median [95% CI]':>34s} {'cost %':>7s} {'writes':>7s}"
    )
    off_med = statistics.median(took["off"])
    verdicts = []
    for arm in ARMS:
        med = statistics.median(took[arm])
        diffs = [a - o for a, o in zip(took[arm], took["off"], strict=True)]
        d, lo, hi = _median_ci(diffs)
        print(
            f"{arm:8s} {med:10.0f} {med / off_med:7.3f} "
            f"{f'{d:+.0f} [{lo:+.0f}, {hi:+.0f}]':>34s} {d / off_med * 100:+6.1f}% "
            f"{writes[arm]:7d}"
        )
        if arm == "off":
            continue
        if lo <= 0 <= hi:
            verdicts.append(
                f"verdict {name} {arm}: not distinguishable from no counting in this run "
                f"(95% interval of the paired cost {lo:+.0f}..{hi:+.0f} us contains 0; at most "
                f"{hi / off_med * 100:+.0f}%)"
            )
        else:
            verdicts.append(
                f"verdict {name} {arm}: {d:+.0f} us per matching request "
                f"({d / off_med * 100:+.1f}%; 95% interval {lo:+.0f}..{hi:+.0f} us)"
            )
    print("(writes: count batches written during the arm's requests)")
    print("\n".join(verdicts))
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triples", type=int, default=2000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        run(f"sqlite:///{d}/bench.db", Path(d), a.triples)
        if pg := os.environ.get("TANGKAL_BENCH_PG"):
            run(pg, Path(d), a.triples)


if __name__ == "__main__":
    main()
