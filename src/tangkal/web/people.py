"""Who did something, named as people know each other: "Analis Satu (Kementerian
Komunikasi dan Informatika)", not the audit record's ``kominfo/analis(analyst)``.

The audit record, the approvals and the clarifications keep the actor as the string
``org/user(role)`` (it is hashed into the chain and must never change). A page turns it into
the person's display name and their organisation's display name through a
:class:`Directory` bound to the request's database session for as long as the page renders
(:func:`bound`), so ``Formatter.actor`` can name people without every route gathering them
first. A directory reads each organisation's people once (one round trip per organisation a
page names, whatever the number of entries), and a page rendered without one (an error page
after the session failed) names people as the record does, with the role in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, User


@dataclass(frozen=True, slots=True)
class Person:
    display_name: str
    org_display: str


@dataclass
class Directory:
    """The people of the organisations a page names, read lazily from ``session``."""

    session: Session
    _orgs: dict[str, tuple[str, dict[str, str]] | None] = field(default_factory=dict)

    def _org(self, org: str) -> tuple[str, dict[str, str]] | None:
        if org not in self._orgs:
            rows = self.session.execute(
                select(Organization.display_name, User.username, User.display_name)
                .outerjoin(User, User.org_id == Organization.id)
                .where(Organization.name == org)
            ).all()
            self._orgs[org] = (
                (rows[0][0], {u: d or u for _, u, d in rows if u is not None}) if rows else None
            )
        return self._orgs[org]

    def organisation(self, org: str) -> str | None:
        """The organisation's display name, or None when there is no such organisation."""
        found = self._org(org)
        return found[0] if found else None

    def person(self, org: str, username: str) -> Person | None:
        found = self._org(org)
        if found is None or username not in found[1]:
            return None
        return Person(found[1][username], found[0])


_current: ContextVar[Directory | None] = ContextVar("tangkal_web_people", default=None)


def current() -> Directory | None:
    """The directory of the page being rendered, if any."""
    return _current.get()


@contextmanager
def bound(session: Session | None) -> Iterator[None]:
    """Name people from ``session`` while the block runs (a page's rendering)."""
    token = _current.set(Directory(session) if session is not None else None)
    try:
        yield
    finally:
        _current.reset(token)
