"""What counting matches for the quarantine costs on the match path: ``matching.match`` of
one PDQ signal that matches one banked content, timed with the count (the rule's floor
raised so the one content is never held) and
with ``quarantine.screen`` replaced by a no-op, each in its own unit of work (commit
included, as a request pays it), on SQLite (a file) and on PostgreSQL when
``TANGKAL_BENCH_PG`` names one (the database is emptied).

    python3 -m bench.hashing.bench_quarantine [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.db.migrate import upgrade
from tangkal.db.session import Database
from tangkal.hashing import banks, content, matching, quarantine
from tangkal.hashing.matcher import BankIndexes
from tangkal.sop.profile import HashQuarantine


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


def _time(db: Database, p: Principal, idx: BankIndexes, sig: str, rounds: int) -> float:
    q = [matching.Query("pdq", sig)]
    took = []
    for _ in range(rounds):
        t = time.perf_counter()
        with db.unit_of_work() as s:
            assert matching.match(s, p, idx, q)
        took.append(time.perf_counter() - t)
    return statistics.median(took) * 1e6


def run(url: str, data: Path, rounds: int) -> None:
    db = Database(url)
    if not db.is_sqlite:
        with db.engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    p, idx, sig = _setup(db, data)
    real = quarantine.screen
    # the same content matches every round: a floor no round reaches keeps it matching (the
    # count and the rule's arithmetic still run in full)
    quarantine.rule = lambda: HashQuarantine(min_matches=10_000_000)  # type: ignore[assignment]
    _time(db, p, idx, sig, 50)  # warm
    with_count = _time(db, p, idx, sig, rounds)
    quarantine.screen = lambda session, contents, now=None: {}  # type: ignore[assignment]
    try:
        without = _time(db, p, idx, sig, rounds)
    finally:
        quarantine.screen = real  # type: ignore[assignment]
    again = _time(db, p, idx, sig, rounds)
    print(
        f"{db.engine.dialect.name:10s} match+commit median: without count {without:7.0f} us, "
        f"with count {min(with_count, again):7.0f} us, "
        f"cost {min(with_count, again) - without:6.0f} us per request with a match"
    )
    db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=400)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        run(f"sqlite:///{d}/bench.db", Path(d), a.rounds)
        if pg := os.environ.get("TANGKAL_BENCH_PG"):
            run(pg, Path(d), a.rounds)


if __name__ == "__main__":
    main()
