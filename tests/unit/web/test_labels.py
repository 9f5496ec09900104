"""Every delivery state and every event on an order's record has words in both languages."""

from __future__ import annotations

import pytest

from tangkal.delivery.models import DeliveryStatus
from tangkal.web import labels
from tangkal.web.i18n import Formatter


def test_every_delivery_state_has_a_label() -> None:
    assert set(labels.DELIVERY_STATUS) == {s.value for s in DeliveryStatus}


@pytest.mark.parametrize(
    ("table", "value", "id_text", "en_text"),
    [
        (
            "delivery_status",
            "inbox",
            "Menunggu di kotak masuk platform",
            "Waiting in the platform's inbox",
        ),
        ("delivery_status", "delivered", "Terkirim", "Delivered"),
        ("event", "order.issued", "Perintah diterbitkan", "Order issued"),
        (
            "event",
            "order.evidence_banked",
            "Bukti dimasukkan ke bank hash",
            "Evidence put into a hash bank",
        ),
    ],
)
def test_labels_in_both_languages(table: str, value: str, id_text: str, en_text: str) -> None:
    assert Formatter("id").label(table, value) == id_text
    assert Formatter("en").label(table, value) == en_text


def test_every_message_sent_to_a_platform_about_an_order_is_named() -> None:
    for event in ("order.issued", "order.clarification_answered", "order.warning_issued"):
        assert event in labels.EVENT


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert Formatter("id").label("event", "order.something_new") == "order.something_new"


def test_every_procedure_state_kind_and_case_kind_has_a_label() -> None:
    from tangkal.cases.services import KINDS
    from tangkal.normalisation.models import NormalisationStatus
    from tangkal.objections.models import ObjectionStatus, SubjectKind
    from tangkal.sanctions.models import SanctionStatus
    from tangkal.sop.steps import STEP_KINDS

    assert set(labels.SANCTION_STATUS) == {s.value for s in SanctionStatus}
    assert set(labels.OBJECTION_STATUS) == {s.value for s in ObjectionStatus}
    assert set(labels.NORMALISATION_STATUS) == {s.value for s in NormalisationStatus}
    assert set(labels.SUBJECT_KIND) == {s.value for s in SubjectKind}
    assert set(labels.STEP_KIND) == set(STEP_KINDS)
    assert set(labels.CASE_KIND) == set(KINDS)
    for enum_type in (SanctionStatus, ObjectionStatus, NormalisationStatus, SubjectKind):
        assert enum_type in labels.TERMS


@pytest.mark.parametrize(
    ("table", "value", "id_text", "en_text"),
    [
        ("sanction_status", "pending_approval", "Menunggu persetujuan", "Pending approval"),
        ("sanction_status", "active", "Berlaku", "In force"),
        ("sanction_status", "lifted", "Dicabut", "Lifted"),
        ("objection_status", "upheld", "Diterima", "Upheld"),
        ("normalisation_status", "refused", "Ditolak", "Refused"),
        ("step_kind", "warning_letter", "Surat teguran", "Warning letter"),
        ("step_kind", "sanction_proposal", "Sanksi diusulkan", "Sanction proposed"),
        ("case_kind", "restoration", "Pemulihan akses", "Restorations of access"),
        (
            "event",
            "sanction.approved",
            "Sanksi disetujui oleh pejabat",
            "Sanction approved by an official",
        ),
    ],
)
def test_procedure_labels_in_both_languages(
    table: str, value: str, id_text: str, en_text: str
) -> None:
    assert Formatter("id").label(table, value) == id_text
    assert Formatter("en").label(table, value) == en_text


def test_every_audit_action_of_the_procedure_has_words() -> None:
    """The case file names each event by these words; a raw action would show in English."""
    import re
    from pathlib import Path

    src = Path(labels.__file__).resolve().parents[1]
    found = set()
    for path in src.rglob("*.py"):
        if "web" in path.parts:
            continue
        found |= set(
            re.findall(
                r'"((?:order|block|sanction|objection|normalisation)\.[a-z_]+)"', path.read_text()
            )
        )
    missing = sorted(a for a in found if a not in labels.EVENT and not a.endswith("."))
    assert not missing, missing


def test_every_locator_kind_and_receipt_basis_has_words() -> None:
    from tangkal.locators.model import LocatorKind
    from tangkal.orders.models import ReceiptBasis

    assert set(labels.LOCATOR_KIND) == {k.value for k in LocatorKind}
    assert set(labels.RECEIPT_BASIS) == {b.value for b in ReceiptBasis}
    assert Formatter("id").label("locator_kind", "telegram_channel") == "Kanal Telegram"
    assert Formatter("id").label("receipt_basis", "deemed") == "dianggap diterima menurut SOP"


def test_every_receipt_basis_the_services_record_is_an_enum_value() -> None:
    """``mark_received(..., "basis", ...)`` is called with literals: each must be named."""
    import re
    from pathlib import Path

    from tangkal.orders.models import ReceiptBasis

    src = Path(labels.__file__).resolve().parents[1]
    found = set()
    for path in src.rglob("*.py"):
        found |= set(re.findall(r'mark_received\([^)]*?"([a-z_]+)"', path.read_text(), re.S))
    assert found and found <= {b.value for b in ReceiptBasis}, found


def test_people_are_named_by_display_names_from_the_directory(session, factory) -> None:  # type: ignore[no-untyped-def]
    from tangkal.accounts import services as accounts
    from tangkal.accounts.models import OrgKind, Role
    from tangkal.accounts.principal import SYSTEM
    from tangkal.web import people

    org = accounts.create_org(
        session, SYSTEM, kind=OrgKind.REGULATOR, name="kominfo-x", display_name="Kominfo"
    )
    accounts.create_user(
        session, SYSTEM, org, username="analis", role=Role.ANALYST, password=None,
        display_name="Analis Satu",
    )  # fmt: skip
    session.flush()
    f = Formatter("id")
    with people.bound(session):
        assert f.actor("kominfo-x/analis(analyst)") == "Analis Satu (Kominfo)"
        assert f.actor("kominfo-x/analis(analyst)", people=False) == "Kominfo"
        # someone no longer there: the user name and the role in words, the organisation
        assert f.actor("kominfo-x/lama(official)") == "lama (Pejabat), Kominfo"
        assert f.actor("nowhere/x(official)") == "x (Pejabat), nowhere"
    assert f.actor("kominfo-x/analis(analyst)") == "analis (Analis), kominfo-x"


def test_every_value_of_every_enum_a_message_may_name_has_indonesian_words() -> None:
    """The registry (``labels.TERMS``): each member of each enum has a label, and the label
    has an Indonesian translation of its own (not the English message falling through)."""
    from tangkal.web.i18n import translations

    catalogue = translations("id")
    same = {"Moderator", "Auditor", "platform", "regulator", "ISP", "Administrator"}
    for enum_type, table in labels.TERMS.items():
        assert {m.value for m in enum_type} <= set(table), enum_type
        for value in (m.value for m in enum_type):
            text = catalogue.gettext(table[value])
            assert text != table[value] or text in same, (enum_type.__name__, value, text)
