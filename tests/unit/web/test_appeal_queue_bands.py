"""The officials' appeal queue marks open appeals overdue or due soon (within the profile's
``[appeals] warn_before``: 2 days in the Indonesian profile), in both languages, and counts
them above the queue; an appeal far from its deadline and a decided one carry no band."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tangkal.blocklist.models import Appeal, AppealStatus
from tangkal.db.session import Database
from tests.factories import Factory
from tests.unit.web.test_console_list_queries import _official, _sign_in, client  # noqa: F401


def _appeal(db: Database, regulator: str, decide_by: datetime, status: AppealStatus) -> str:
    ref = "AP-" + uuid.uuid4().hex[:8].upper()
    decided = status is AppealStatus.REJECTED
    with db.engine.begin() as conn:
        conn.execute(
            insert(Appeal),
            [
                {
                    "id": str(uuid.uuid4()),
                    "reference": ref,
                    "domain": "bakery.example.com",
                    "regulator_org_id": regulator,
                    "contact_email": "warga@contoh.co.id",
                    "statement": "my site is not the channel",
                    "status": status,
                    "created_at": decide_by - timedelta(days=14),
                    "decide_by": decide_by,
                    "decided_by": "kominfo/official(official)" if decided else None,
                    "decided_at": decide_by if decided else None,
                    "decision_reason": "stands" if decided else None,
                }
            ],
        )
    return ref


def _band_of(page: str, ref: str) -> str | None:
    """The band the heading of ``ref``'s panel carries, if any."""
    head = page[page.index(f'<span class="mono">{ref}</span>') :]
    head = head[: head.index("</h2>")]
    if 'data-band="' not in head:
        return None
    return head.split('data-band="', 1)[1].split('"', 1)[0]


def test_the_queue_shows_overdue_and_due_soon_bands_in_both_languages(
    db: Database,
    client: TestClient,  # noqa: F811
    factory: Factory,
) -> None:
    regulator = factory.regulator()
    _official(factory, regulator, "pejabat-1")
    _sign_in(client, regulator.name, "pejabat-1")
    # far from the page's moment either way, so the reading time never changes a band
    now = datetime.now(UTC)
    late = _appeal(db, regulator.id, now - timedelta(days=1), AppealStatus.UNDER_REVIEW)
    soon = _appeal(db, regulator.id, now + timedelta(days=1), AppealStatus.RECEIVED)
    later = _appeal(db, regulator.id, now + timedelta(days=10), AppealStatus.RECEIVED)
    done = _appeal(db, regulator.id, now - timedelta(days=3), AppealStatus.REJECTED)

    en = client.get("/console/appeals", params={"status": "all", "lang": "en"}).text
    assert _band_of(en, late) == "overdue"
    assert _band_of(en, soon) == "due_soon"
    assert _band_of(en, later) is None and _band_of(en, done) is None
    assert "Decision overdue: 1" in en and "Decision due soon: 1" in en

    id_ = client.get("/console/appeals", params={"lang": "id"}).text
    assert _band_of(id_, late) == "overdue" and _band_of(id_, soon) == "due_soon"
    assert "Keputusan melewati tenggat: 1" in id_ and "Keputusan segera jatuh tempo: 1" in id_
    assert "Decision overdue" not in id_
