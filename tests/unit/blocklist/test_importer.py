"""Bulk import: every line checked first, then all or nothing, in batches."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tangkal.blocklist import importer, services
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.db.session import Database
from tests.factories import Factory
from tests.unit.blocklist.conftest import People, ensure_protected, zone

DEFAULTS = {"legal_basis": "UU ITE Pasal 40", "reason": "TRUST+ list"}


def test_plain_lines_comments_and_csv_with_a_header_are_read() -> None:
    rows, errors = importer.parse_lines(
        ["# list of 2017", "", "T.me", "telegram.me\n"], action="landing", **DEFAULTS
    )
    assert not errors
    assert [(r.line, r.domain, r.action.value) for r in rows] == [
        (3, "t.me", "landing"),
        (4, "telegram.me", "landing"),
    ]
    rows, errors = importer.parse_lines(
        [
            "domain,action,legal_basis,reason,category",
            'a.example.com,nodata,"UU ITE, Pasal 40",propaganda,terrorism',
            "b.example.com,,,,",
        ],
        **DEFAULTS,
    )
    assert not errors
    assert rows[0].legal_basis == "UU ITE, Pasal 40" and rows[0].category == "terrorism"
    assert rows[1].action.value == "nxdomain" and rows[1].reason == "TRUST+ list"


def test_every_bad_line_is_reported_with_its_number() -> None:
    rows, errors = importer.parse_lines(
        [
            "ok.example.com",
            "co.id",
            "bad..name.com",
            "OK.example.com",
            "x.example.com,drop",
            "y.example.com",
        ],
        **DEFAULTS,
    )
    assert [e.line for e in errors] == [2, 3, 4, 5]
    assert [r.domain for r in rows] == ["ok.example.com", "y.example.com"]
    assert "public suffix" in errors[0].message
    assert "line 1" in errors[2].message
    assert "drop" in errors[3].message
    _, missing = importer.parse_lines(["z.example.com"], legal_basis="x")
    assert "reason" in missing[0].message


def test_an_officials_import_is_active_and_published_except_flagged_names(
    db: Database, factory: Factory, people: People
) -> None:
    factory.platform(domains=["imp-platform.org"])
    with db.unit_of_work() as s:
        ensure_protected(s, "go.id")
    names = [f"n{i}.import.example.com" for i in range(1200)]
    rows, errors = importer.parse_lines([*names, "web.imp-platform.org", "dinas.go.id"], **DEFAULTS)
    assert not errors
    with db.unit_of_work() as s:
        assert importer.check_against_database(s, rows) == []
        result = importer.apply_import(s, people.official(), rows, source="test.txt")
    assert (result.total, result.active, result.pending) == (1202, 1200, 2)
    z = zone(db)
    assert len(z) == 1200 and "web.imp-platform.org" not in z
    with db.read_only() as s:
        flagged = s.scalar(select(BlockEntry).where(BlockEntry.domain == "dinas.go.id"))
        assert flagged is not None and flagged.status is BlockStatus.PENDING_APPROVAL
        assert "go.id" in (flagged.approval_note or "")


def test_names_with_open_entries_are_refused_and_nothing_is_written(
    db: Database, people: People
) -> None:
    with db.unit_of_work() as s:
        services.create_block(
            s,
            people.official(),
            services.BlockRequest.build(domain="taken.example.com", action="nxdomain", **DEFAULTS),
        )
    rows, _ = importer.parse_lines(["new.example.com", "taken.example.com"], **DEFAULTS)
    with db.read_only() as s:
        errors = importer.check_against_database(s, rows)
    assert [(e.line, "taken.example.com" in e.message) for e in errors] == [(2, True)]
    # even if a caller skips the check, the database refuses the duplicate as a whole
    with pytest.raises(Exception), db.unit_of_work() as s:  # noqa: B017
        importer.apply_import(s, people.official(), rows)
    with db.read_only() as s:
        assert s.scalar(select(func.count()).select_from(BlockEntry)) == 1


def test_a_long_list_is_published_in_parts_each_on_the_record_with_its_serial(
    db: Database, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tangkal.audit.models import AuditEvent
    from tangkal.audit.services import verify

    monkeypatch.setattr(importer, "PUBLISH_CHUNK", 500)
    monkeypatch.setattr(importer, "INSERT_CHUNK", 200)
    names = [f"p{i}.parts.example.com" for i in range(1234)]
    rows, errors = importer.parse_lines(names, **DEFAULTS)
    assert not errors
    with db.unit_of_work() as s:
        result = importer.apply_import(s, people.official(), rows, source="long.txt")
    assert (result.total, result.active, len(result.serials)) == (1234, 1234, 3)
    assert sorted(zone(db)) == sorted(names)
    with db.read_only() as s:
        parts = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "block.imported").order_by(AuditEvent.seq)
        ).all()
        assert [p.data["part"] for p in parts] == [1, 2, 3]
        assert [p.data["serial"] for p in parts] == list(result.serials)
        recorded = [e[1] for p in parts for e in p.data["entries"]]
        assert recorded == names
        assert verify(s).ok
