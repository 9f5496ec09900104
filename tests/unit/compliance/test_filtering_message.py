"""Why a control was found filtering, as stored in English, read back as a message the pages
translate; the English is exactly what was stored."""

from __future__ import annotations

from tangkal.compliance.compare import (
    Answer,
    Expectation,
    Observation,
    expectation_for,
    filtering_controls,
    filtering_message,
)
from tangkal.web.i18n import Formatter

LANDING = "laman-labuh.tangkal.id."
REAL = Observation(Answer("NOERROR", frozenset({"149.154.167.99"})), Answer("NOERROR"))
NX = Observation(Answer("NXDOMAIN"), Answer("NXDOMAIN"))
LANDING_CNAME = Observation(
    Answer("NOERROR", frozenset({"203.0.113.99"}), cnames=(LANDING,)),
    Answer("NOERROR", cnames=(LANDING,)),
)


def exp(action: str | None) -> Expectation:
    return expectation_for(action, LANDING, frozenset({"203.0.113.99"}))


def test_each_note_reads_back_as_the_same_english_and_translates() -> None:
    blocked = {"t.me": exp("nxdomain"), "telegram.org": exp("landing")}
    flagged = filtering_controls(
        blocked,
        {
            "rpz": {"t.me": NX, "telegram.org": REAL},
            "landing": {"t.me": REAL, "telegram.org": LANDING_CNAME},
        },
        {"t.me": [REAL]},
    )
    assert set(flagged) == {"rpz", "landing"}
    for note in flagged.values():
        msg = filtering_message(note)
        assert msg.text == note and msg.template != "%(note)s"
        indonesian = Formatter("id").message(msg)
        assert indonesian != note
        assert any(name in indonesian for name in ("t.me", "telegram.org"))


def test_a_note_of_another_shape_is_shown_as_it_is() -> None:
    assert filtering_message("something else").text == "something else"
    assert Formatter("id").message(filtering_message("something else")) == "something else"
    assert filtering_message(None).text == ""
