"""Signed checkpoints: a chain truncated or rewritten since one was signed no longer
extends it, and whom an event concerns decides who reads it (issue 12, findings 4, 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from tangkal.accounts.models import Role
from tangkal.accounts.principal import SYSTEM
from tangkal.audit import checkpoints, signing
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import page, record
from tangkal.db.session import Database
from tangkal.errors import ConfigurationError
from tangkal.settings import Settings
from tests.factories import Factory


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


def _events(db: Database, n: int) -> None:
    with db.unit_of_work() as s:
        for i in range(n):
            record(s, SYSTEM, "thing.done", "thing", str(i))


def test_the_key_is_made_once_and_a_bad_file_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    key = signing.load_key(settings)
    path = tmp_path / signing.DEFAULT_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    again = signing.load_key(settings)
    assert signing.public_key_b64(again) == signing.public_key_b64(key)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        signing.load_key(_settings(tmp_path, audit_key_file=bad))


def test_a_checkpoint_catches_truncation_and_rewriting(db: Database, tmp_path: Path) -> None:
    key = signing.load_key(_settings(tmp_path))
    _events(db, 5)
    with db.unit_of_work() as s:
        cp = json.loads(json.dumps(checkpoints.as_dict(checkpoints.make(s, key))))
    assert cp["size"] == cp["seq"] == 5
    _events(db, 2)
    with db.read_only() as s:
        assert checkpoints.check(s, checkpoints.parse(json.dumps(cp))).ok
        # pinned to another key, or altered: refused before the chain is looked at
        other = signing.public_key_b64(signing.load_key(_settings(tmp_path / "other")))
        assert not checkpoints.check(s, cp, trusted_public_key=other).ok
        assert "signature" in str(checkpoints.check(s, {**cp, "size": 4}).problem)
    with db.unit_of_work() as s:  # the entry the checkpoint signed, rewritten
        s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(hash="f" * 64))
    with db.read_only() as s:
        assert "rewritten" in str(checkpoints.check(s, cp).problem)
    with db.unit_of_work() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
    with db.read_only() as s:
        assert "truncated" in str(checkpoints.check(s, cp).problem)


def test_the_periodic_pass_signs_only_a_grown_chain(db: Database, tmp_path: Path) -> None:
    key = signing.load_key(_settings(tmp_path))
    with db.unit_of_work() as s:
        assert checkpoints.make_if_grown(s, key) is None  # an empty chain
    _events(db, 1)
    with db.unit_of_work() as s:
        made = checkpoints.make_if_grown(s, key)
        assert made is not None and made.size == 1
        assert checkpoints.make_if_grown(s, key) is None


@pytest.mark.parametrize(
    "text, problem",
    [("[]", "not a JSON object"), ("{", "not JSON"), ('{"size": "1"}', "'size'")],
)
def test_a_checkpoint_file_that_is_not_one_is_named(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        checkpoints.parse(text)


def test_events_concern_the_actor_and_the_subjects_owners(factory: Factory, db: Database) -> None:
    reg_a, reg_b, plat = factory.regulator(), factory.regulator(), factory.platform()
    with db.unit_of_work() as s:
        record(
            s,
            factory.principal(reg_a, Role.OFFICIAL),
            "organization.noted",
            "organization",
            plat.id,
        )
        record(s, SYSTEM, "order.reminder", "thing", "x", {"platform_org_id": plat.id})
        record(s, SYSTEM, "rpz.compacted", "rpz_zone", "z")
    with db.read_only() as s:
        a = [e.action for e in page(s, after=0, limit=1000, org_id=reg_a.id, common=True)]
        b = [e.action for e in page(s, after=0, limit=1000, org_id=reg_b.id, common=True)]
        p = [e.action for e in page(s, after=0, limit=1000, org_id=plat.id)]
    assert "organization.noted" in a and "organization.noted" not in b
    assert "rpz.compacted" in a and "rpz.compacted" in b and "rpz.compacted" not in p
    assert {"organization.noted", "order.reminder"} <= set(p)
