"""The reason the escalation gives the sanction it proposes is stored in English (the API,
the exports and the DSA statements read it as text) and read back as a message, so a page
shows it in the reader's language with the profile's own step label."""

from __future__ import annotations

from tangkal.sanctions import services
from tangkal.sanctions.models import Sanction
from tangkal.sop.profile import load_profile
from tangkal.web.i18n import Formatter

PROFILE = load_profile("indonesia")


def _sanction(reason: str, source: str = "escalation") -> Sanction:
    return Sanction(reason=reason, source=source, sop_profile=PROFILE.name)


def test_the_stored_reason_is_english_and_reads_back_in_indonesian() -> None:
    step = next(s for s in PROFILE.steps if s.label_en != s.label_id)
    text = services.escalation_reason("ORD-2017-0001", "ST1, ST2, ST3", step.label_en, "indonesia")
    assert text.text == (
        f"Order ORD-2017-0001 was not complied with after ST1, ST2, ST3; {step.label_en} "
        "under the indonesia profile."
    )
    sanction = _sanction(text.text)
    english = services.escalation_reason_of(sanction, "en")
    assert english is not None and english.text == text.text
    indonesian = services.escalation_reason_of(sanction, "id")
    assert indonesian is not None
    shown = Formatter("id").message(indonesian)
    assert shown == (
        f"Perintah ORD-2017-0001 tidak dipatuhi setelah ST1, ST2, ST3; {step.label_id} "
        "menurut profil indonesia."
    )


def test_an_order_without_steps_and_an_officials_own_words() -> None:
    step = PROFILE.steps[-1]
    text = services.escalation_reason("ORD-9", "", step.label_en, "indonesia").text
    assert "after its deadline;" in text
    msg = services.escalation_reason_of(_sanction(text), "id")
    assert msg is not None
    assert "setelah tenggatnya lewat" in Formatter("id").message(msg)
    # an official's reason, even one that looks like the template, is shown as written
    assert services.escalation_reason_of(_sanction(text, source="official"), "id") is None
    assert services.escalation_reason_of(_sanction("Orders unanswered since March."), "id") is None
