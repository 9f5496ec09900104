"""The console's block list, sanction list and appeals queue make the same number of
database statements for 10 rows as for 200 (counted with a ``before_cursor_execute``
listener on the app's own engine while an official reads the pages over HTTP, in process).

Rows are written in bulk (one INSERT per table), each sanction of another platform and each
appeal against another block, so a per-row lookup of a platform, a block, an order or a
person would show as a difference between the two counts."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, Role
from tangkal.accounts.principal import SYSTEM
from tangkal.api.app import create_app
from tangkal.blocklist.models import Appeal, AppealStatus, BlockEntry, BlockStatus
from tangkal.db.session import Database
from tangkal.sanctions.models import SanctionApproval
from tangkal.settings import Settings
from tests import bulk_rows as bulk
from tests.factories import Factory
from tests.unit.web.console_client import Counter, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "kata-sandi-rahasia-2017"
PAGES = (
    "/console/blocks",
    "/console/blocks?status=active",
    "/console/sanctions",
    "/console/appeals",
    "/console/appeals?status=all",
)


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db, Settings(), background=False)) as c:
        yield c


def _official(factory: Factory, regulator: Organization, username: str) -> str:
    with factory.db.unit_of_work() as s:
        org = s.get(Organization, regulator.id)
        assert org is not None
        accounts.create_user(
            s, SYSTEM, org, username=username, role=Role.OFFICIAL, password=PASSWORD
        )
        return f"{org.name}/{username}(official)"


def _sign_in(client: TestClient, org: str, user: str) -> None:
    sign_in(client, org, user, PASSWORD)


def _seed(db: Database, regulator: str, actor: str, k: int) -> None:
    """``k`` platforms, each with an order, a sanction over two of its names (approved by
    the official, some pending, some active), a block of its own waiting for approval, and
    an appeal against one of its names (received, under review or decided)."""
    now = datetime.now(UTC) - timedelta(days=1)
    rows = bulk.tables_for(SanctionApproval, Appeal)
    for i in range(k):
        at = now + timedelta(seconds=i)
        made = bulk.sanctioned_platform(rows, regulator, actor, at, pending=i % 2 == 0, tld="com")
        tag, sanction = made.tag, made.sanction
        rows[SanctionApproval].append(
            {"sanction_id": sanction, "approver_key": actor, "approved_by": actor,
             "approved_at": at}
        )  # fmt: skip
        own = bulk.block_row(
            str(uuid.uuid4()), f"n2.{tag}.com", regulator, actor, at,
            status=BlockStatus.PENDING_APPROVAL, order_id=made.order,
        )  # fmt: skip
        rows[BlockEntry].append(own)
        state = (AppealStatus.RECEIVED, AppealStatus.UNDER_REVIEW, AppealStatus.REJECTED)[i % 3]
        rows[Appeal].append(
            {
                "id": str(uuid.uuid4()),
                "reference": f"A-{tag}",
                "domain": f"n0.{tag}.com",
                "block_id": made.blocks[0],
                "regulator_org_id": regulator,
                "contact_email": f"warga-{tag}@example.org",
                "statement": "my site is not the channel",
                "status": state,
                "created_at": at,
                "decide_by": at + timedelta(days=2),
                "reviewed_by": None if state is AppealStatus.RECEIVED else actor,
                "reviewed_at": None if state is AppealStatus.RECEIVED else at,
                "decided_by": actor if state is AppealStatus.REJECTED else None,
                "decided_at": at if state is AppealStatus.REJECTED else None,
                "decision_reason": "the block stands" if state is AppealStatus.REJECTED else None,
            }
        )
    bulk.insert_all(db, rows)


def test_block_sanction_and_appeal_lists_cost_the_same_for_200_rows_as_for_10(
    db: Database, client: TestClient, factory: Factory
) -> None:
    regulator = factory.regulator()
    actor = _official(factory, regulator, "pejabat-1")
    _sign_in(client, regulator.name, "pejabat-1")
    counter = Counter(db)
    _seed(db, regulator.id, actor, 10)
    few = {url: counter.get(client, url)[0] for url in PAGES}
    _seed(db, regulator.id, actor, 190)
    many = {url: counter.get(client, url)[0] for url in PAGES}
    assert many == few, (few, many)
    # and the rows are on the pages: 200 sanctions, and every open appeal's block
    page = client.get("/console/sanctions", params={"lang": "en"}).text
    assert page.count('href="/console/sanctions/') == 200
    queue = client.get("/console/appeals", params={"lang": "en"}).text
    assert queue.count('id="a-') >= 130
