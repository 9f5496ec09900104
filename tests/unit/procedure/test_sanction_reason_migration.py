"""Migration 0301: a sanction's reason gains its message id and parameters beside the text.
Up, the columns are there and empty for the sanctions already proposed (which are then shown
by their text); down, they go and every sanction keeps its text, its orders and its blocks;
up again, they are back. Each backend, in a database of its own."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from tangkal.db.migrate import downgrade, upgrade
from tangkal.db.session import Database
from tangkal.sanctions import services
from tangkal.sanctions.models import Sanction
from tests import bulk_rows as bulk
from tests.factories import Factory

BEFORE = "0300_procedure"


def _counts(db: Database) -> tuple[int, int, int]:
    with db.engine.connect() as conn:
        return tuple(
            conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("sanctions", "sanction_orders", "block_entries")
        )


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("sanctions")}


def test_the_reason_message_columns_come_and_go_and_the_sanctions_stay(
    unmigrated_db: Database,
) -> None:
    db = unmigrated_db
    upgrade(db)
    regulator = Factory(db).regulator()
    rows = bulk.tables_for()
    made = [
        bulk.sanctioned_platform(
            rows, regulator.id, "kominfo/official(official)", datetime.now(UTC)
        )
        for _ in range(2)
    ]
    bulk.insert_all(db, rows)
    msg = services.escalation_reason("O-1", "ST1, ST2", "Final warning", "indonesia", "ST2")
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Sanction)
            .where(Sanction.id == made[0].sanction)
            .values(reason=msg.text, reason_msgid=msg.template, reason_params=dict(msg.params))
        )
    assert _counts(db) == (2, 2, 4)

    downgrade(db, BEFORE)
    assert not {"reason_msgid", "reason_params"} & _columns(db)
    assert _counts(db) == (2, 2, 4)  # no table copy lost a row or cascaded a delete
    with db.engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT reason FROM sanctions WHERE id = :id"), {"id": made[0].sanction}
        ).scalar_one()
    assert kept == msg.text

    upgrade(db)
    assert {"reason_msgid", "reason_params"} <= _columns(db)
    assert _counts(db) == (2, 2, 4)
    with db.unit_of_work() as s:
        sanctions = s.scalars(sa.select(Sanction)).all()
        assert all(x.reason_msgid is None and x.reason_params is None for x in sanctions)
        old = next(x for x in sanctions if x.id == made[0].sanction)
        assert old.reason == msg.text
        assert services.reason_message(old, "id") is None  # shown by its text, as before
