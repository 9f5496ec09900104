"""Helpers for the blocklist's unit tests: principals of distinct people, zone reads."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import ProtectedName
from tangkal.db.session import Database
from tests.factories import Factory

_people = itertools.count(1)


class People:
    """Distinct people (each a user with a token: approvals count people) in one regulator
    organisation, plus a platform and ISP."""

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.regulator = factory.regulator()

    def person(self, role: Role | str, org: Organization | None = None) -> Principal:
        p = self.factory.principal(org or self.regulator, role)
        n = next(_people)
        return dataclasses.replace(
            p, user_id=f"user-{n}", token_id=f"tok-{n}", username=f"{p.role.value}-{n}"
        )

    def official(self) -> Principal:
        return self.person(Role.OFFICIAL)

    def analyst(self) -> Principal:
        return self.person(Role.ANALYST)


@pytest.fixture
def people(factory: Factory) -> People:
    return People(factory)


def zone(db: Database) -> dict[str, str]:
    """The RPZ's current names and actions, as committed."""
    from tangkal.rpz.models import RpzEntry

    with db.read_only() as s:
        return {n: a.value for n, a in s.execute(select(RpzEntry.name, RpzEntry.action))}


def ensure_protected(session: Session, name: str, note: str = "test") -> None:
    """The migration seeds defaults, but PostgreSQL test databases are truncated per test."""
    if session.scalar(select(ProtectedName.id).where(ProtectedName.name == name)) is None:
        session.add(ProtectedName(name=name, note=note))
        session.flush()
