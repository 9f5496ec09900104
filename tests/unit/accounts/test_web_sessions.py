"""Server-side console session records: started at sign-in, checked on every request,
ended by sign-out, sign-out everywhere, deactivation and a new password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tangkal.accounts import services, web_sessions
from tangkal.accounts.models import OrgKind, Role, User, WebSessionRecord
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.models import AuditEvent
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tests.support import unique

DAY = timedelta(hours=12)


def _person(db: Database) -> tuple[str, str]:
    with db.unit_of_work() as s:
        org = services.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name=unique("kominfo"))
        user = services.create_user(
            s, SYSTEM, org, username="analis", role=Role.ANALYST, password="kata-sandi-rahasia"
        )
        return user.id, org.id


def _live(db: Database, sid: str, user_id: str, org_id: str, **kw: object) -> bool:
    with db.unit_of_work() as s:
        return web_sessions.is_live(s, sid, user_id, org_id, **kw)  # type: ignore[arg-type]


def test_only_the_digest_of_the_id_is_stored(db: Database) -> None:
    user_id, org_id = _person(db)
    with db.unit_of_work() as s:
        sid = web_sessions.start(s, user_id, org_id, lifetime=DAY)
    with db.unit_of_work() as s:
        stored = list(s.scalars(select(WebSessionRecord.id_hash)))
    assert len(stored) == 1 and sid not in stored[0] and len(stored[0]) == 64
    assert _live(db, sid, user_id, org_id)


def test_an_ended_unknown_or_foreign_session_is_refused(db: Database) -> None:
    user_id, org_id = _person(db)
    other_id, other_org = _person(db)
    with db.unit_of_work() as s:
        sid = web_sessions.start(s, user_id, org_id, lifetime=DAY)
    assert not _live(db, sid, other_id, other_org)  # a record is bound to its person
    assert not _live(db, "made-up", user_id, org_id)
    assert not _live(db, None, user_id, org_id)
    with db.unit_of_work() as s:
        web_sessions.end(s, sid)
    assert not _live(db, sid, user_id, org_id)


def test_an_expired_session_is_refused(db: Database) -> None:
    user_id, org_id = _person(db)
    with db.unit_of_work() as s:
        sid = web_sessions.start(s, user_id, org_id, lifetime=DAY)
    assert not _live(db, sid, user_id, org_id, now=utcnow() + DAY + timedelta(seconds=1))
    with db.unit_of_work() as s:
        short = web_sessions.start(s, user_id, org_id, lifetime=timedelta(seconds=-1))
    assert not _live(db, short, user_id, org_id)


def test_last_seen_is_written_at_most_once_a_minute(db: Database) -> None:
    user_id, org_id = _person(db)
    with db.unit_of_work() as s:
        sid = web_sessions.start(s, user_id, org_id, lifetime=DAY)
        first = s.scalars(select(WebSessionRecord.last_seen_at)).one()
    assert _live(db, sid, user_id, org_id, now=first + timedelta(seconds=30))
    with db.unit_of_work() as s:
        assert s.scalars(select(WebSessionRecord.last_seen_at)).one() == first
    later = first + timedelta(minutes=2)
    assert _live(db, sid, user_id, org_id, now=later)
    with db.unit_of_work() as s:
        assert s.scalars(select(WebSessionRecord.last_seen_at)).one() == later


def test_sign_out_everywhere_ends_every_session_of_that_person_only(db: Database) -> None:
    user_id, org_id = _person(db)
    other_id, other_org = _person(db)
    with db.unit_of_work() as s:
        a = web_sessions.start(s, user_id, org_id, lifetime=DAY)
        b = web_sessions.start(s, user_id, org_id, lifetime=DAY)
        theirs = web_sessions.start(s, other_id, other_org, lifetime=DAY)
    with db.unit_of_work() as s:
        assert web_sessions.end_all(s, user_id) == 2
    assert not _live(db, a, user_id, org_id) and not _live(db, b, user_id, org_id)
    assert _live(db, theirs, other_id, other_org)


def _signed_in_then(
    db: Database, change: Callable[[Session, User], object]
) -> tuple[str, str, str]:
    """A person signed in once, then ``change`` applied to them in a unit of work of its own;
    (user id, org id, the sign-in's id)."""
    user_id, org_id = _person(db)
    with db.unit_of_work() as s:
        sid = web_sessions.start(s, user_id, org_id, lifetime=DAY)
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        assert user is not None
        change(s, user)
    return user_id, org_id, sid


def test_deactivation_ends_the_persons_sessions_and_is_audited(db: Database) -> None:
    user_id, org_id, sid = _signed_in_then(
        db, lambda s, user: services.deactivate_user(s, SYSTEM, user)
    )
    assert not _live(db, sid, user_id, org_id)
    with db.unit_of_work() as s:
        event = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "user.deactivated")
            .where(AuditEvent.object_id == user_id)
        ).one()
        assert event.data["sessions_ended"] == 1
        assert s.get(User, user_id).active is False  # type: ignore[union-attr]


def test_a_new_password_ends_the_persons_sessions(db: Database) -> None:
    user_id, org_id, sid = _signed_in_then(
        db, lambda s, user: services.set_password(s, SYSTEM, user, "another-long-password")
    )
    assert not _live(db, sid, user_id, org_id)
    with db.unit_of_work() as s:
        org = s.get(User, user_id).organization  # type: ignore[union-attr]
        services.authenticate_password(s, org.name, "analis", "another-long-password")


def test_old_ended_records_are_removed_when_the_person_signs_in_again(db: Database) -> None:
    user_id, org_id = _person(db)
    with db.unit_of_work() as s:
        old = web_sessions.start(s, user_id, org_id, lifetime=DAY)
        web_sessions.start(s, user_id, org_id, lifetime=DAY)
        web_sessions.end(s, old)
    long_ago = utcnow() - web_sessions.KEEP_ENDED - timedelta(days=1)
    with db.unit_of_work() as s:
        s.execute(
            update(WebSessionRecord)
            .where(WebSessionRecord.ended_at.is_not(None))
            .values(ended_at=long_ago, expires_at=long_ago)
        )
    with db.unit_of_work() as s:
        web_sessions.start(s, user_id, org_id, lifetime=DAY)
    with db.unit_of_work() as s:
        left = list(
            s.scalars(select(WebSessionRecord.ended_at).where(WebSessionRecord.user_id == user_id))
        )
    assert left == [None, None]  # the one still open and the new one
