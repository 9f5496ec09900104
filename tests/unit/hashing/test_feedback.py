"""Feedback's way back to the source bank: verdicts counted per organisation, copies' verdicts
on their original, the review flag, who sees which notes, and provenance through an export."""

from __future__ import annotations

import csv
import io

import pytest
from tests.factories import Factory

from tangkal.accounts.models import OrgKind
from tangkal.db.session import Database
from tangkal.errors import Forbidden, InvalidInput
from tangkal.hashing import banks, exchange, feedback
from tangkal.hashing.content import add_signal, list_content
from tangkal.hashing.models import ContentSource, SourceKind

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_verdicts_are_tallied_per_org_and_flag_a_content_several_reject(
    db: Database, factory: Factory
) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    b, c, d = (factory.principal(factory.org(OrgKind.PLATFORM), "moderator") for _ in range(3))
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "shared-src")
        pdq = add_signal(s, owner, "shared-src", "pdq", PDQ).added[0].id
        md5 = add_signal(s, owner, "shared-src", "md5", MD5).added[0].id
        feedback.give_feedback(s, b, pdq, "false_positive", note="b's private note")
        feedback.give_feedback(s, c, pdq, "false_positive")
        feedback.give_feedback(s, d, pdq, "confirmed")
        feedback.give_feedback(s, d, md5, "confirmed", note="d's note")
        feedback.give_feedback(s, d, md5, "confirmed")
        view = feedback.bank_feedback(s, owner, "shared-src")
        only_review = feedback.bank_feedback(s, owner, "shared-src", review_only=True)
        by_confirmed = feedback.bank_feedback(s, owner, "shared-src", sort="confirmed")
        assert feedback.source_dict(s.get(ContentSource, pdq))["kind"] == "upload"
    assert (view.confirmed, view.false_positive, view.needs_review) == (3, 2, 1)
    first, second = view.contents
    assert first.content_id == pdq and first.needs_review
    assert (first.orgs_rejected, first.orgs_confirmed) == (2, 1)
    assert {o.org_id: (o.confirmed, o.false_positive) for o in first.by_org} == {
        b.org_id: (0, 1),
        c.org_id: (0, 1),
        d.org_id: (1, 0),
    }
    assert second.content_id == md5 and not second.needs_review and second.confirmed == 2
    assert [t.content_id for t in only_review.contents] == [pdq]
    assert [t.content_id for t in by_confirmed.contents] == [md5, pdq]


def test_notes_are_the_owners_and_the_givers_only(db: Database, factory: Factory) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    b, c = (factory.principal(factory.org(OrgKind.PLATFORM), "moderator") for _ in range(2))
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "notes")
        cid = add_signal(s, owner, "notes", "pdq", PDQ).added[0].id
        feedback.give_feedback(s, b, cid, "false_positive", note="b: a cartoon")
        feedback.give_feedback(s, c, cid, "confirmed", note="c: our user 123")
        as_owner = feedback.content_feedback(s, owner, cid)
        as_b = feedback.content_feedback(s, b, cid)
        with pytest.raises(Forbidden):
            feedback.bank_feedback(s, b, "notes")
        with pytest.raises(InvalidInput):
            feedback.bank_feedback(s, owner, "notes", sort="loudest")
    assert [n["note"] for n in as_owner["notes"]] == ["b: a cartoon", "c: our user 123"]
    assert {o["org_id"] for o in as_owner["by_org"]} == {b.org_id, c.org_id}
    assert [n["note"] for n in as_b["notes"]] == ["b: a cartoon"]
    assert "by_org" not in as_b
    assert (as_b["confirmed"], as_b["false_positive"]) == (1, 1)


def test_a_copy_through_a_csv_export_sends_its_verdicts_to_the_original(
    db: Database, factory: Factory
) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    copier = factory.principal(factory.org(OrgKind.PLATFORM), "moderator")
    rejecter = factory.principal(factory.org(OrgKind.PLATFORM), "moderator")
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "origin")
        original = add_signal(s, owner, "origin", "pdq", PDQ).added[0].id
        banks.create_bank(s, copier, "my-copy", shared=True)
        exported = "".join(exchange.export(s, owner, "origin", "csv"))
        exchange.import_into(s, copier, "my-copy", exported.encode(), "csv")
        copy = list_content(s, copier, "my-copy")[0]
        src = s.get(ContentSource, copy.id)
        assert src is not None and src.kind is SourceKind.BANK
        assert (src.origin_content_id, src.file_format, src.file_row) == (original, "csv", 2)
        feedback.give_feedback(s, rejecter, copy.id, "false_positive")
        at_origin = feedback.bank_feedback(s, owner, "origin")
        at_copy = feedback.bank_feedback(s, copier, "my-copy")
        again = list(
            csv.DictReader(io.StringIO("".join(exchange.export(s, copier, "my-copy", "csv"))))
        )
    assert [(t.content_id, t.false_positive) for t in at_origin.contents] == [(original, 1)]
    assert [(t.content_id, t.false_positive) for t in at_copy.contents] == [(copy.id, 1)]
    # the copy's export names the first original, so a copy of the copy reports to it too
    assert again[0]["origin"] == f"tangkal:content:{original}"
    assert again[0]["false_positive"] == "1"  # the verdict given on the copy itself


def test_an_unknown_origins_counts_land_as_reported_on_the_imported_row(
    db: Database, factory: Factory
) -> None:
    owner = factory.principal(factory.regulator(), "analyst")
    data = (
        "signal_type,signal,label,origin,confirmed,false_positive\n"
        f"pdq,{PDQ},x,tangkal:content:999999999,4,3\n"
        f"md5,{MD5},,,0,0\n"
    ).encode()
    with db.unit_of_work() as s:
        banks.create_bank(s, owner, "from-elsewhere")
        exchange.import_into(s, owner, "from-elsewhere", data, "csv")
        rows = {r.signal_type: r for r in list_content(s, owner, "from-elsewhere")}
        pdq_src = s.get(ContentSource, rows["pdq"].id)
        md5_src = s.get(ContentSource, rows["md5"].id)
    assert pdq_src is not None and md5_src is not None
    assert pdq_src.kind is SourceKind.FILE and pdq_src.file_row == 2
    assert (pdq_src.reported_confirmed, pdq_src.reported_false_positive) == (4, 3)
    assert rows["pdq"].source_ref == "tangkal:content:999999999"
    assert md5_src.reported_confirmed is None and md5_src.file_row == 3
