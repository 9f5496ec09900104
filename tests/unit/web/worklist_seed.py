"""Orders in bulk for the order-list tests: prepared by the filing code and written with
its one-INSERT-per-table writer, so a thousand orders take a second, not a thousand
requests. Each order's deadline is set by the moment it is "issued" (``ago``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.db.session import Database
from tangkal.orders.filing import prepare_order, write_orders
from tangkal.orders.models import Order, OrderStatus
from tangkal.orders.schemas import OrderIn
from tests.factories import Factory

PASSWORD = "kata-sandi-rahasia-2017"


@dataclass(frozen=True)
class Spec:
    """One order: its category (4 h "terrorism", 24 h "gambling" in the Indonesian
    profile), how long ago it was issued, its channel, and its state."""

    channel: str
    ago: timedelta = timedelta(0)
    category: str = "terrorism"
    status: OrderStatus = OrderStatus.ISSUED
    paused: bool = False


def file_orders(
    db: Database,
    analyst: Principal,
    platform: Organization,
    specs: Sequence[Spec],
    now: datetime,
) -> list[str]:
    """Write the orders and return their ids, in the order of ``specs``."""
    with db.unit_of_work() as s:
        org = s.get(Organization, platform.id)
        assert org is not None
        prepared = [
            prepare_order(
                analyst,
                OrderIn(
                    platform=org.name,
                    category=spec.category,
                    locators=[f"https://t.me/{spec.channel}/1"],
                    legal_basis="UU 5/2018 Pasal 13A",
                    reason="test order",
                ),
                now=now - spec.ago,
            ).for_platform(org.id)
            for spec in specs
        ]
        write_orders(s, [(analyst, p, org) for p in prepared])
        ids = [p.id for p in prepared]
        for oid, spec in zip(ids, specs, strict=True):
            if spec.status is not OrderStatus.ISSUED or spec.paused:
                s.execute(
                    update(Order)
                    .where(Order.id == oid)
                    .values(status=spec.status, paused_at=now if spec.paused else None)
                )
    return ids


@dataclass(frozen=True)
class World:
    regulator: Organization
    platform: Organization
    other: Organization
    analyst: Principal
    moderator: Principal
    other_moderator: Principal


def world(factory: Factory) -> World:
    """A regulator and two platforms, each with a person who can sign in."""
    regulator, platform, other = factory.regulator(), factory.platform(), factory.platform()
    people = []
    for org, role in (
        (regulator, Role.ANALYST),
        (platform, Role.MODERATOR),
        (other, Role.MODERATOR),
    ):
        with factory.db.unit_of_work() as s:
            o = s.get(Organization, org.id)
            assert o is not None
            user = accounts.create_user(
                s, SYSTEM, o, username=f"{role.value}-1", role=role, password=PASSWORD
            )
            people.append(
                Principal(
                    org_id=o.id,
                    org_name=o.name,
                    org_kind=o.kind,
                    role=role,
                    user_id=user.id,
                    username=user.username,
                )
            )
    return World(regulator, platform, other, *people)
