"""Console sign-ins, sign-outs and refused sign-ins are on the audit record, without the
password, and attempts on names that do not exist add nothing to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tangkal.accounts import services
from tangkal.accounts.models import OrgKind, Role, User
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import count, verify
from tangkal.db.session import Database
from tangkal.errors import Unauthenticated
from tests.support import unique

DAY = timedelta(hours=12)
PASSWORD = "kata-sandi-rahasia"


def _person(db: Database) -> tuple[str, str]:
    with db.unit_of_work() as s:
        org = services.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name=unique("kominfo"))
        user = services.create_user(
            s, SYSTEM, org, username="analis", role=Role.ANALYST, password=PASSWORD
        )
        return org.name, user.id


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _fail(db: Database, org: str, username: str, password: str) -> None:
    """A refused attempt, committed as the console commits it (the page is an answer)."""
    with db.unit_of_work() as s, pytest.raises(Unauthenticated):
        services.sign_in(s, org, username, password, lifetime=DAY, address="203.0.113.9")


def test_a_sign_in_and_its_sign_out_are_recorded_about_the_person(db: Database) -> None:
    org, user_id = _person(db)
    with db.unit_of_work() as s:
        principal, sid = services.sign_in(
            s, org, "analis", PASSWORD, lifetime=DAY, address="203.0.113.9"
        )
    with db.unit_of_work() as s:
        services.sign_out(s, principal, sid, address="203.0.113.9")
    with db.unit_of_work() as s:
        services.sign_out(s, principal, sid, address="203.0.113.9")  # again: nothing new
    (signed_in,) = _events(db, "session.signed_in")
    (signed_out,) = _events(db, "session.signed_out")
    for ev in (signed_in, signed_out):
        assert (ev.object_type, ev.object_id) == ("user", user_id)
        assert ev.actor == f"{org}/analis(analyst)"
        assert ev.data == {"username": "analis", "address": "203.0.113.9"}
    assert signed_in.seq < signed_out.seq


def test_signing_out_everywhere_records_how_many_sign_ins_ended(db: Database) -> None:
    org, _ = _person(db)
    with db.unit_of_work() as s:
        principal, _sid = services.sign_in(s, org, "analis", PASSWORD, lifetime=DAY, address="a")
        services.sign_in(s, org, "analis", PASSWORD, lifetime=DAY, address="b")
    with db.unit_of_work() as s:
        assert services.sign_out_everywhere(s, principal, address="a") == 2
    (ev,) = _events(db, "session.signed_out_everywhere")
    assert ev.data["sessions_ended"] == 2


def test_a_wrong_password_for_a_real_person_is_recorded_without_the_password(
    db: Database,
) -> None:
    org, user_id = _person(db)
    _fail(db, org, "analis", "tebak-tebakan-123")
    (ev,) = _events(db, "session.sign_in_failed")
    assert (ev.object_type, ev.object_id) == ("user", user_id)
    assert ev.actor == SYSTEM.actor  # nobody was authenticated
    assert ev.data == {
        "org": org,
        "username": "analis",
        "reason": "password",
        "address": "203.0.113.9",
    }
    assert "tebak-tebakan-123" not in repr(ev.data)


def test_a_deactivated_person_signing_in_is_recorded_as_inactive(db: Database) -> None:
    org, user_id = _person(db)
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        assert user is not None
        services.deactivate_user(s, SYSTEM, user)
    _fail(db, org, "analis", PASSWORD)
    (ev,) = _events(db, "session.sign_in_failed")
    assert ev.data["reason"] == "inactive"


def test_unknown_names_never_grow_the_audit_log(db: Database) -> None:
    org, _ = _person(db)
    with db.unit_of_work() as s:
        before = count(s)
    for i in range(5):
        _fail(db, org, f"nobody-{i}", "whatever-password")
        _fail(db, f"no-such-org-{i}", "analis", "whatever-password")
        with db.unit_of_work() as s:
            services.sign_in_rate_limited(s, org, f"nobody-{i}", "203.0.113.9")
            services.sign_in_rate_limited(s, f"no-such-org-{i}", "analis", "203.0.113.9")
    with db.unit_of_work() as s:
        assert count(s) == before


def test_a_rate_limited_sign_in_of_a_real_person_is_recorded(db: Database) -> None:
    org, user_id = _person(db)
    with db.unit_of_work() as s:
        services.sign_in_rate_limited(s, org, "analis", "203.0.113.9")
    (ev,) = _events(db, "session.sign_in_rate_limited")
    assert ev.object_id == user_id and ev.data["address"] == "203.0.113.9"
    with db.unit_of_work() as s:
        assert verify(s).ok
