"""The reason the escalation gives the sanction it proposes is stored twice: as English
text (the API, the exports and the DSA statements read it) and as the message it was
written from, its template and parameters, from which a page renders it in the reader's
language with the profile's own step label. Nothing is read back out of the English text:
an official's words, and a sanction from before the message was stored, are shown as their
text."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.errors import Msg
from tangkal.orders import services as orders
from tangkal.orders.schemas import OrderIn
from tangkal.sanctions import services
from tangkal.sanctions.models import Sanction
from tangkal.settings import Settings
from tangkal.sop.profile import SopProfile, load_profile
from tangkal.web.i18n import Formatter
from tests.unit.procedure.conftest import platform_of
from tests.unit.web.console_client import sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "kata-sandi-rahasia-2017"

PROFILE = load_profile("indonesia")


def _stored(msg: Msg, **columns: Any) -> Sanction:
    """An escalation's sanction (not in a database) as ``_create`` stores ``msg``, with
    ``columns`` changed."""
    values: dict[str, Any] = {
        "reason": msg.text,
        "reason_msgid": msg.template,
        "reason_params": dict(msg.params),
        "source": "escalation",
        "sop_profile": PROFILE.name,
    }
    return Sanction(**{**values, **columns})


def _escalated(db: Database, case: dict[str, object]) -> str:
    """The sanction the escalation's last step proposes for a fresh order of the case."""
    profile, analyst = case["profile"], case["analyst"]
    assert isinstance(profile, SopProfile) and isinstance(analyst, Principal)
    with db.unit_of_work() as s:
        order = orders.file_order(
            s,
            analyst,
            OrderIn(
                platform=platform_of(case).name,
                category="terrorism",
                locators=["https://t.me/s/kanal_alasan/1"],
                legal_basis="UU 5/2018",
                reason="bomb-making instructions",
            ),
        )
        step = next(x for x in profile.steps if x.label_en != x.label_id)
        return services.propose_for_order(s, order, profile, step, datetime.now(UTC)).id


def test_an_escalated_sanction_keeps_its_message_and_shows_it_in_each_language(
    db: Database, case: dict[str, object]
) -> None:
    sanction_id = _escalated(db, case)
    profile = case["profile"]
    assert isinstance(profile, SopProfile)
    step = next(x for x in profile.steps if x.label_en != x.label_id)
    with db.unit_of_work() as s:
        sanction = s.get(Sanction, sanction_id)
        assert sanction is not None
        body = services.to_dict(s, sanction)
        reference = body["orders"][0]["reference"]
        english = (
            f"Order {reference} was not complied with after its deadline; {step.label_en} "
            f"under the {profile.name} profile."
        )
        assert sanction.reason == body["reason"] == english  # the API's text, unchanged
        assert sanction.reason_msgid is not None and "%(order)s" in sanction.reason_msgid
        assert sanction.reason_params == {
            "order": reference,
            "step": step.label_en,
            "profile": profile.name,
            "step_code": step.code,
        }
        en = services.reason_message(sanction, "en")
        id_ = services.reason_message(sanction, "id")
    assert en is not None and Formatter("en").message(en) == english
    assert id_ is not None and Formatter("id").message(id_) == (
        f"Perintah {reference} tidak dipatuhi setelah tenggatnya lewat; {step.label_id} "
        f"menurut profil {profile.name}."
    )


def test_the_reason_with_the_steps_taken_renders_from_its_stored_message() -> None:
    step = next(s for s in PROFILE.steps if s.label_en != s.label_id)
    msg = services.escalation_reason(
        "ORD-2017-0001", "ST1, ST2, ST3", step.label_en, "indonesia", step.code
    )
    assert msg.text == (
        f"Order ORD-2017-0001 was not complied with after ST1, ST2, ST3; {step.label_en} "
        "under the indonesia profile."
    )
    shown = services.reason_message(_stored(msg), "id")
    assert shown is not None
    assert Formatter("id").message(shown) == (
        f"Perintah ORD-2017-0001 tidak dipatuhi setelah ST1, ST2, ST3; {step.label_id} "
        "menurut profil indonesia."
    )


def test_text_without_a_message_is_shown_as_written_even_when_it_reads_like_the_template() -> None:
    step = PROFILE.steps[-1]
    text = services.escalation_reason("ORD-9", "", step.label_en, "indonesia", step.code).text
    older = Sanction(reason=text, source="escalation", sop_profile=PROFILE.name)
    official = Sanction(reason="Orders unanswered since March.", source="official")
    assert services.reason_message(older, "id") is None  # no parsing of the English
    assert services.reason_message(official, "id") is None


def test_stored_parameters_that_no_longer_fit_their_template_fall_back_to_the_text() -> None:
    msg = services.escalation_reason("ORD-9", "", "Last warning", "indonesia", "ST4")
    broken = _stored(msg, reason_params={"order": "ORD-9"})
    assert services.reason_message(broken, "id") is None


def test_the_console_shows_the_escalations_reason_in_the_readers_language(
    db: Database, case: dict[str, object]
) -> None:
    sanction_id = _escalated(db, case)
    regulator = case["regulator"]
    assert isinstance(regulator, Organization)
    with db.unit_of_work() as s:
        org = s.get(Organization, regulator.id)
        assert org is not None
        accounts.create_user(s, SYSTEM, org, username="pejabat-alasan", role=Role.OFFICIAL,
                             password=PASSWORD)  # fmt: skip
        sanction = s.get(Sanction, sanction_id)
        assert sanction is not None
        english, params = sanction.reason, dict(sanction.reason_params or {})
    profile = case["profile"]
    assert isinstance(profile, SopProfile)
    label_id = next(x.label_id for x in profile.steps if x.code == params["step_code"])
    with TestClient(create_app(db, Settings(), background=False)) as client:
        sign_in(client, regulator.name, "pejabat-alasan", PASSWORD)
        for url in ("/console/escalations", f"/console/sanctions/{sanction_id}"):
            page = client.get(url, params={"lang": "id"})
            assert page.status_code == 200, page.text[:500]
            assert f"Perintah {params['order']} tidak dipatuhi" in page.text, url
            assert label_id in page.text and english not in page.text, url
            page = client.get(url, params={"lang": "en"})
            assert english in page.text, url


def test_a_stored_message_id_this_code_does_not_write_falls_back_to_the_text() -> None:
    msg = services.escalation_reason("ORD-9", "ST1", "Last warning", "indonesia", "ST4")
    reworded = _stored(msg, reason_msgid="Order %(order)s went unanswered.")
    assert services.reason_message(reworded, "en") is None
