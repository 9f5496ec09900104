"""Factories for test data: each call makes fresh, uniquely named objects."""

from __future__ import annotations

from dataclasses import dataclass

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.db.session import Database
from tangkal.delivery.webhook_url import WebhookURL, parse_webhook_url
from tests.support import TEST_WEBHOOK_NETWORKS, unique


def test_webhook_url(text: str) -> WebhookURL:
    """A webhook URL as the test servers accept it: http and loopback receivers allowed (the
    same allowances ``support.live_server`` gives a live server)."""
    return parse_webhook_url(text, allow_http=True, allow_networks=TEST_WEBHOOK_NETWORKS)


#: An official of no organisation in the database (``org_id="system"``), for service tests
#: that create blocks without setting up a regulator first.
SYSTEM_OFFICIAL = Principal(
    org_id="system",
    org_name="tangkal",
    org_kind=OrgKind.REGULATOR,
    role=Role.OFFICIAL,
    username="official",
)


@dataclass
class OrgWithToken:
    org_id: str
    name: str
    token: str
    principal: Principal


class Factory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def org(
        self,
        kind: OrgKind | str = OrgKind.PLATFORM,
        *,
        name: str | None = None,
        domains: list[str] | None = None,
        webhook_url: str | None = None,
    ) -> Organization:
        kind = OrgKind(kind)
        with self.db.unit_of_work() as s:
            return accounts.create_org(
                s,
                SYSTEM,
                kind=kind,
                name=name or unique(kind.value),
                domains=domains,
                webhook_url=None if webhook_url is None else test_webhook_url(webhook_url),
            )

    def principal(self, org: Organization, role: Role | str) -> Principal:
        return Principal(
            org_id=org.id,
            org_name=org.name,
            org_kind=org.kind,
            role=Role(role),
            username=f"{role}-user",
        )

    def person(self, org: Organization, role: Role | str, username: str | None = None) -> Principal:
        """A named person of ``org`` (a user row), as a token made with ``--user`` gives."""
        name = username or unique(str(Role(role).value))
        with self.db.unit_of_work() as s:
            o = s.get(Organization, org.id)
            assert o is not None
            user = accounts.create_user(s, SYSTEM, o, username=name, role=Role(role), password=None)
            user_id = user.id
        return Principal(
            org_id=org.id,
            org_name=org.name,
            org_kind=org.kind,
            role=Role(role),
            user_id=user_id,
            username=name,
        )

    def token(self, org: Organization, role: Role | str) -> str:
        with self.db.unit_of_work() as s:
            o = s.get(Organization, org.id)
            assert o is not None
            return accounts.create_token(s, SYSTEM, o, Role(role))

    def regulator(self) -> Organization:
        return self.org(OrgKind.REGULATOR)

    def platform(self, domains: list[str] | None = None) -> Organization:
        return self.org(OrgKind.PLATFORM, domains=domains)

    def isp(self) -> Organization:
        return self.org(OrgKind.ISP)
