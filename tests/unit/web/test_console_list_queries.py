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
from typing import Any

import pytest
from sqlalchemy import insert

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM
from tangkal.api.app import create_app
from tangkal.blocklist.models import Appeal, AppealStatus, BlockAction, BlockEntry, BlockStatus
from tangkal.db.session import Database
from tangkal.orders.models import Order, OrderStatus
from tangkal.sanctions.models import Sanction, SanctionApproval, SanctionOrder, SanctionStatus
from tangkal.settings import Settings
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
    tables = (Organization, Order, Sanction, SanctionOrder, SanctionApproval, BlockEntry, Appeal)
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in tables}
    for i in range(k):
        tag = uuid.uuid4().hex[:10]
        at = now + timedelta(seconds=i)
        platform, order, sanction = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        rows[Organization].append(
            {"id": platform, "kind": OrgKind.PLATFORM, "name": f"p-{tag}", "display_name": tag}
        )
        rows[Order].append(
            {
                "id": order,
                "reference": f"O-{tag}",
                "regulator_org_id": regulator,
                "platform_org_id": platform,
                "category": "terrorism",
                "urgency": "urgent",
                "legal_basis": "UU 5/2018",
                "reason": "propaganda",
                "status": OrderStatus.OVERDUE,
                "sop_profile": "indonesia",
                "deadline_seconds": 4 * 3600,
                "created_by": actor,
                "issued_at": at,
                "received_at": at,
                "deadline_at": at + timedelta(hours=4),
                "paused_seconds": 0.0,
                "steps_taken": 3,
                "updated_at": at,
            }
        )
        pending = i % 2 == 0
        rows[Sanction].append(
            {
                "id": sanction,
                "reference": f"S-{tag}",
                "platform_org_id": platform,
                "regulator_org_id": regulator,
                "action": "block",
                "legal_basis": "PM 5/2020 pasal 15",
                "reason": "orders unanswered",
                "status": SanctionStatus.PENDING_APPROVAL if pending else SanctionStatus.ACTIVE,
                "source": "official",
                "proposed_by": actor,
                "proposed_at": at,
                "sop_profile": "indonesia",
                "activated_at": None if pending else at,
            }
        )
        rows[SanctionOrder].append({"sanction_id": sanction, "order_id": order})
        rows[SanctionApproval].append(
            {"sanction_id": sanction, "approver_key": actor, "approved_by": actor,
             "approved_at": at}
        )  # fmt: skip
        blocks = [str(uuid.uuid4()) for _ in range(3)]
        for n, block in enumerate(blocks):
            domain = f"n{n}.{tag}.com"
            own = n == 2
            status = BlockStatus.PENDING_APPROVAL if pending or own else BlockStatus.ACTIVE
            rows[BlockEntry].append(
                {
                    "id": block,
                    "domain": domain,
                    "rname": ".".join(reversed(domain.split("."))),
                    "action": BlockAction.NXDOMAIN,
                    "status": status,
                    "legal_basis": "PM 5/2020 pasal 15",
                    "reason": "sanction",
                    "category": "terrorism",
                    "sanction_id": None if own else sanction,
                    "order_id": order if own else None,
                    "requested_by": actor,
                    "requested_by_key": actor.removesuffix("(official)"),
                    "requested_by_org_id": regulator,
                    "requested_at": at,
                    "activated_at": None if status is BlockStatus.PENDING_APPROVAL else at,
                }
            )
        state = (AppealStatus.RECEIVED, AppealStatus.UNDER_REVIEW, AppealStatus.REJECTED)[i % 3]
        rows[Appeal].append(
            {
                "id": str(uuid.uuid4()),
                "reference": f"A-{tag}",
                "domain": f"n0.{tag}.com",
                "block_id": blocks[0],
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
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(insert(table), rows[table])


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
