"""The new-order form reports each bad locator line by its number."""

from __future__ import annotations

from tangkal.errors import InvalidInput
from tangkal.web.forms import OrderForm


def _form(locators: str, **kw: str) -> OrderForm:
    data = {
        "platform": "telegram",
        "category": "terrorism",
        "legal_basis": "UU 5/2018",
        "reason": "propaganda",
        "locators": locators,
        **kw,
    }
    f = OrderForm(**data)
    f.check({"terrorism"}, {"telegram"})
    return f


def test_each_bad_line_is_reported_with_its_line_number() -> None:
    f = _form("https://t.me/jihad_channel/1\n\nnot a domain\nco.id\nt.me/jihad_channel/2")
    assert [e.line for e in f.line_errors] == [3, 4]
    assert "public suffix" in str(f.line_errors[1].message)
    assert not f.ok


def test_a_good_form_becomes_an_order_without_blank_lines() -> None:
    f = _form("  https://t.me/jihad_channel/1  \n\nweb.telegram.org\n")
    assert f.ok
    order = f.to_order([])
    assert order.locators == ["https://t.me/jihad_channel/1", "web.telegram.org"]


def test_missing_fields_are_each_named() -> None:
    f = _form("", platform="nobody", category="", legal_basis=" ", reason="")
    assert set(f.errors) == {"platform", "category", "legal_basis", "reason", "locators"}


def test_block_form_keeps_every_problem_next_to_its_field() -> None:
    from tangkal.web.forms import BlockForm

    form = BlockForm(
        domain="co.id",
        action="bogus",
        legal_basis=" ",
        reason="",
        category="nope",
        expires_at="soon",
    )
    assert form.build({"terrorism"}) is None
    assert set(form.errors) == {
        "domain",
        "action",
        "legal_basis",
        "reason",
        "category",
        "expires_at",
    }


def test_block_form_builds_a_request_and_knows_whether_the_assessment_was_seen() -> None:
    from tangkal.web.forms import BlockForm

    form = BlockForm(
        domain="Bücher.example.com",
        action="landing",
        legal_basis="UU 5/2018",
        reason="propaganda",
        category="terrorism",
        expires_at="2099-01-01T00:00",
        assessed="other.example.com",
    )
    req = form.build({"terrorism"})
    assert req is not None and form.ok
    assert req.domain.name == "xn--bcher-kva.example.com"
    assert req.expires_at is not None and req.expires_at.hour == 17  # midnight WIB
    assert not form.seen_assessment
    form.assessed = "Bücher.example.com"
    assert form.seen_assessment


# ------------------------------------------------------------------ the procedure's forms


def test_a_decision_needs_an_outcome_and_a_reason_and_keeps_what_was_typed() -> None:
    from tangkal.web.forms import DecisionForm

    form = DecisionForm(target="x", outcome="maybe", reason="  ")
    assert not form.check(("upheld", "rejected"), "say why")
    assert set(form.errors) == {"outcome", "reason"} and form.errors["reason"] == "say why"
    assert DecisionForm(target="x", reason="because").check((), "say why")


def test_an_objection_keeps_its_evidence_lines_and_refuses_too_many() -> None:
    from tangkal.web.forms import ObjectionForm

    form = ObjectionForm(
        kind="order",
        subject_id="o1",
        reason="not ours",
        evidence="https://a.example/1\n\n  note  \n",
    )
    assert form.check(("order",)) and form.lines() == ["https://a.example/1", "note"]
    many = ObjectionForm(
        kind="order",
        subject_id="o1",
        reason="r",
        evidence="\n".join(f"line {i}" for i in range(21)),
    )
    assert not many.check(("order",)) and "evidence" in many.errors
    unknown = ObjectionForm(kind="sanction", subject_id="s1", reason="")
    assert not unknown.check(("order",)) and set(unknown.errors) == {"form", "reason"}


def test_the_normalisation_checklist_pairs_each_condition_with_its_evidence() -> None:
    from tangkal.errors import Msg
    from tangkal.web.forms import NormalisationForm

    known = {"government_channel", "trusted_flagger"}
    form = NormalisationForm.from_lists(
        ["government_channel", "trusted_flagger"], ["hotline 24/7", ""], known, reason="done"
    )
    assert form.conditions == {"government_channel": "hotline 24/7", "trusted_flagger": ""}
    assert form.check(public=False) and form.conditions_touched
    broken = NormalisationForm.from_lists(["government_channel"], [], known, reason="x")
    assert "form" in broken.errors
    public = NormalisationForm(reason="", domain="", contact_email="")
    assert not public.check(public=True)
    assert set(public.errors) == {"reason", "domain", "contact_email"}
    exc = InvalidInput(Msg("too long"), field="conditions.trusted_flagger")
    form.refused(exc, exc.msg)
    assert "conditions.trusted_flagger" in form.errors
