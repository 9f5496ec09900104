"""The second factor on both backends: who owes one (TANGKAL_REQUIRE_TOTP), a code used once,
a recovery code used once, the refusals on the audit record."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tangkal.accounts import services, totp
from tangkal.accounts.models import Organization, OrgKind, Role, User
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.models import AuditEvent
from tangkal.db.session import Database
from tangkal.errors import Unauthenticated
from tests.support import unique

DAY = timedelta(hours=12)
PASSWORD = "kata-sandi-rahasia"


def _people(db: Database) -> str:
    with db.unit_of_work() as s:
        org = services.create_org(s, SYSTEM, kind=OrgKind.REGULATOR, name=unique("kominfo"))
        for name, role in (("pejabat", Role.OFFICIAL), ("analis", Role.ANALYST)):
            services.create_user(s, SYSTEM, org, username=name, role=role, password=PASSWORD)
        return org.name


def _sign_in(db: Database, org: str, user: str, code: str = "", *, require: bool) -> None:
    with db.unit_of_work() as s:
        services.sign_in(
            s, org, user, PASSWORD, lifetime=DAY, address="a", code=code, require_totp=require
        )


def _refused(db: Database, org: str, user: str, code: str = "", *, require: bool) -> str:
    """A refused attempt, committed as the console commits it; returns the message."""
    with db.unit_of_work() as s, pytest.raises(Unauthenticated) as caught:
        services.sign_in(
            s, org, user, PASSWORD, lifetime=DAY, address="a", code=code, require_totp=require
        )
    return caught.value.message


def _enrol(db: Database, org_name: str, username: str) -> tuple[pyotp.TOTP, list[str]]:
    with db.unit_of_work() as s:
        org = s.scalar(select(Organization).where(Organization.name == org_name))
        assert org is not None
        user = services.get_user(s, org, username)
        uri, codes = totp.enrol(s, SYSTEM, org, user)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    return parsed, codes


def test_the_setting_asks_officials_not_analysts_for_a_second_factor(db: Database) -> None:
    org = _people(db)
    _sign_in(db, org, "pejabat", require=False)  # off: as before
    message = _refused(db, org, "pejabat", require=True)
    assert "tangkal user totp enrol" in message
    _sign_in(db, org, "analis", require=True)
    with db.unit_of_work() as s:
        reasons = [
            e.data["reason"]
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "session.sign_in_failed")
            )
        ]
    assert reasons == ["second_factor_not_enrolled"]


def test_an_enrolled_person_owes_a_code_once_per_step_and_each_recovery_code_once(
    db: Database,
) -> None:
    org = _people(db)
    code, recovery = _enrol(db, org, "analis")  # enrolled: asked whatever the setting says
    assert "authentication code" in _refused(db, org, "analis", require=False)
    now = code.now()
    _sign_in(db, org, "analis", now, require=False)
    assert "authentication code" in _refused(db, org, "analis", now, require=False)
    _sign_in(db, org, "analis", recovery[3], require=False)
    _refused(db, org, "analis", recovery[3], require=False)
    with db.unit_of_work() as s:
        user = s.scalar(
            select(User).where(User.username == "analis", User.organization.has(name=org))
        )
        assert user is not None
        assert totp.recovery_codes_left(s, user) == 9
    # enrolling again replaces the secret and the codes
    fresh, again = _enrol(db, org, "analis")
    _refused(db, org, "analis", recovery[4], require=False)
    assert fresh.secret != code.secret and not set(again) & set(recovery)
    _sign_in(db, org, "analis", again[0], require=False)
