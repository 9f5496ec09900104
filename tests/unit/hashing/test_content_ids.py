"""A removed content's id is never given to new content, on either backend: feedback, the
copies' provenance and the order copies that name the removed id must not attach to whatever
is banked next. (SQLite hands out ``max(id) + 1`` again for a table without AUTOINCREMENT, so
removing the newest content used to give its id, and its verdicts, to the next one.)"""

from __future__ import annotations

import sqlalchemy as sa
from tests.factories import Factory
from tests.unit.hashing.migration_rows import insert_regulator_bank

from tangkal.accounts.models import OrgKind
from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database
from tangkal.hashing import banks, feedback
from tangkal.hashing.content import add_signal, remove_content

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_verdicts_on_a_removed_content_do_not_pass_to_the_next_one_banked(
    db: Database, factory: Factory
) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    platform = factory.principal(factory.org(OrgKind.PLATFORM), "moderator")
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "reused")
        gone = add_signal(s, owner, "reused", "pdq", PDQ).added[0].id
        feedback.give_feedback(s, platform, gone, "false_positive", note="not it")
        remove_content(s, owner, "reused", gone)
    with db.unit_of_work() as s:
        fresh = add_signal(s, owner, "reused", "md5", MD5).added[0].id
        counts = feedback.feedback_counts(s, [fresh])
        view = feedback.bank_feedback(s, owner, "reused")
        notes = feedback.content_feedback(s, owner, fresh)["notes"]
    assert fresh != gone
    assert counts == {}
    assert view.contents == [] and view.false_positive == 0
    assert notes == []


def _insert_content(conn: sa.Connection, n: int) -> int:
    """A content row (the id the database gives it), in the tables as they are at any
    revision from 0202 on."""
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO hash_bank_content (bank_id, signal_type, signal, signal_digest,"
                " added_by, created_at) VALUES ('b1', 'md5', :s, :d, 'x', '2026-12-01')"
                " RETURNING id"
            ),
            {"s": f"{n:032x}", "d": f"{n:064x}"},
        ).scalar_one()
    )


def test_migration_0207_keeps_provenance_and_starts_ids_above_every_id_named(
    unmigrated_db: Database,
) -> None:
    db = unmigrated_db
    upgrade(db, "0206_hashing_quarantine")
    with db.engine.begin() as conn:
        insert_regulator_bank(conn)
        ids = [_insert_content(conn, n) for n in (1, 2, 3)]
        assert ids == [1, 2, 3]
        for i in ids:
            conn.execute(
                sa.text(
                    "INSERT INTO hash_content_sources (content_id, kind, origin_content_id)"
                    " VALUES (:i, 'bank', :o)"
                ),
                {"i": i, "o": 10 + i},
            )
        # content 7 was banked and removed before the migration: only the log still names it
        for op_ in ("add", "remove"):
            conn.execute(
                sa.text(
                    "INSERT INTO hash_changes (content_id, op, signal_type, signal, at)"
                    " VALUES (7, :op, 'md5', 'x', '2026-12-01')"
                ),
                {"op": op_},
            )
    upgrade(db)
    with db.engine.begin() as conn:
        kept = conn.execute(
            sa.text(
                "SELECT content_id, origin_content_id FROM hash_content_sources ORDER BY content_id"
            )
        ).all()
        new_id = _insert_content(conn, 4)
    assert [tuple(r) for r in kept] == [(1, 11), (2, 12), (3, 13)]
    if db.engine.dialect.name == "sqlite":
        # above the removed 7 and the originals 11-13 the sources name
        assert new_id == 14
    else:
        assert new_id > 3  # the sequence only ever goes up
    downgrade(db, "0206_hashing_quarantine")
    with db.engine.connect() as conn:
        back = conn.execute(sa.text("SELECT count(*) FROM hash_content_sources")).scalar_one()
    assert back == 3
