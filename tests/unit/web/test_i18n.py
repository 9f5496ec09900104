"""Language choice, and dates, numbers and deadlines formatted per language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import BlockStatus
from tangkal.errors import Forbidden, InvalidInput, InvalidTransition, Msg
from tangkal.orders.models import OrderStatus
from tangkal.web.i18n import (
    Formatter,
    choose_language,
    from_accept_language,
    normalise,
    translations,
)
from tangkal.web.labels import TERMS

NOW = datetime(2017, 7, 14, 7, 5, tzinfo=UTC)  # 14:05 WIB, the day of the 2017 block


def test_query_beats_cookie_beats_browser_beats_indonesian_default() -> None:
    assert choose_language("en", "id", "id") == "en"
    assert choose_language(None, "en", "id") == "en"
    assert choose_language(None, None, "en-GB,en;q=0.9") == "en"
    assert choose_language(None, None, None) == "id"
    assert choose_language(None, None, "de-DE,fr;q=0.8") == "id"


def test_unknown_query_language_falls_through_to_the_remembered_one() -> None:
    assert choose_language("xx", "en", None) == "en"


def test_accept_language_honours_quality_values() -> None:
    assert from_accept_language("en;q=0.5, id;q=0.9") == "id"
    assert from_accept_language("fr, en;q=0.1, id;q=0") == "en"
    assert from_accept_language("*") is None


def test_old_indonesian_code_in_is_understood() -> None:
    assert normalise("in-ID") == "id"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("id", "14 Jul 2017 14.05 WIB"),
        ("en", "Jul 14, 2017 2:05\u202fPM WIB"),
    ],
)
def test_times_are_shown_in_wib_with_the_zone_named(lang: str, text: str) -> None:
    assert Formatter(lang).when(NOW).replace(" ", " ") == text.replace(" ", " ")


def test_naive_and_iso_inputs_are_read_as_utc() -> None:
    f = Formatter("id")
    assert f.when("2017-07-14T07:05:00+00:00") == f.when(NOW)
    assert f.when(datetime(2017, 7, 14, 7, 5)) == f.when(NOW)
    assert f.when(None) == "—"


def test_numbers_use_the_locale_separators() -> None:
    assert Formatter("id").number(6_700_000.5) == "6.700.000,5"
    assert Formatter("en").number(6_700_000.5) == "6,700,000.5"


def test_month_names_per_language() -> None:
    assert Formatter("id").month("2017-08") == "Agustus 2017"
    assert Formatter("en").month("2017-08") == "August 2017"


@pytest.mark.parametrize(
    ("lang", "left", "overdue"),
    [
        ("id", "sisa 3 jam 12 menit", "TERLAMBAT 1 hari 2 jam"),
        ("en", "3 h 12 min left", "OVERDUE by 1 d 2 h"),
    ],
)
def test_deadline_countdown_and_overdue(lang: str, left: str, overdue: str) -> None:
    f = Formatter(lang)
    c = f.countdown(NOW + timedelta(hours=3, minutes=12, seconds=40), NOW)
    assert (c.text, c.state) == (left, "ok")
    late = f.countdown(NOW - timedelta(days=1, hours=2, minutes=5), NOW)
    assert (late.text, late.state) == (overdue, "overdue")


def test_last_hour_is_marked_soon_and_a_paused_clock_says_so() -> None:
    f = Formatter("en")
    assert f.countdown(NOW + timedelta(minutes=20), NOW).state == "soon"
    paused = f.countdown(NOW + timedelta(hours=2), NOW, paused=True)
    assert paused.state == "paused"
    assert "paused" in paused.text


def test_catalogue_is_compiled_from_the_po_file() -> None:
    assert translations("id").gettext("Sign in") == "Masuk"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_a_domain_error_keeps_its_english_message_and_reads_in_indonesian_on_a_page() -> None:
    exc = InvalidInput(Msg("Evidence %(name)r is empty; attach the file itself.", name="a.png"))
    assert exc.message == "Evidence 'a.png' is empty; attach the file itself."
    assert Formatter("en").message(exc.msg) == exc.message
    assert Formatter("id").message(exc.msg) == "Bukti 'a.png' kosong; lampirkan berkasnya sendiri."


def test_several_problems_reported_at_once_are_each_translated() -> None:
    one = Msg("%(text)s is not a URL", text="'x'")
    both = Msg("%(problems)s", problems=(one, Msg("Name the platform the order is for.")))
    assert both.text == "'x' is not a URL; Name the platform the order is for."
    assert Formatter("id").message(both) == (
        "'x' bukan URL; Sebutkan platform yang dituju perintah ini."
    )


def test_a_message_that_is_no_template_is_shown_as_it_is() -> None:
    assert Formatter("id").message("Something only in English, 100% of it.") == (
        "Something only in English, 100% of it."
    )


def test_an_enum_parameter_is_named_in_indonesian_and_left_as_the_api_word_in_english() -> None:
    exc = InvalidTransition(
        Msg(
            "Order %(ref)s is %(status)s; it cannot become %(to)s.",
            ref="TKL-1",
            status=OrderStatus.COMPLIED,
            to=OrderStatus.WITHDRAWN,
        )
    )
    # the API's and the CLI's text is exactly what it was when call sites passed .value
    assert exc.message == "Order TKL-1 is complied; it cannot become withdrawn."
    assert Formatter("en").message(exc.msg) == exc.message
    indonesian = Formatter("id").message(exc.msg)
    assert indonesian == (
        "Perintah TKL-1 berstatus “Dipatuhi”; statusnya tidak dapat diubah menjadi “Ditarik”."
    )
    assert "complied" not in indonesian and "withdrawn" not in indonesian


def test_the_page_names_an_enum_value_as_its_badge_does() -> None:
    fid, fen = Formatter("id"), Formatter("en")
    assert (
        fid.term(BlockStatus.PENDING_APPROVAL)
        == fid.label("status", "pending_approval")
        == "Menunggu persetujuan"
    )
    assert fen.term(BlockStatus.PENDING_APPROVAL) == "pending_approval"
    assert fen.label("status", "pending_approval") == "Pending approval"
    assert fid.term(Role.OFFICIAL) == "Pejabat"
    assert fid.label("status", "no_such_status") == "no_such_status"


def test_every_enum_value_a_message_may_carry_has_a_label() -> None:
    """The catalogue test then checks each label has its Indonesian word."""
    for cls, table in TERMS.items():
        missing = [m.value for m in cls if m.value not in table]
        assert not missing, f"{cls.__name__}: no label in tangkal.web.labels for {missing}"


def test_several_roles_and_kinds_in_one_parameter_keep_the_api_text() -> None:
    auditor = Principal(
        org_id="o", org_name="kominfo", org_kind=OrgKind.REGULATOR, role=Role.AUDITOR
    )
    with pytest.raises(Forbidden) as needs_role:
        auditor.require(Role.ANALYST, Role.OFFICIAL)
    assert needs_role.value.message == (
        "This action needs the role analyst, official; your token has the role auditor."
    )
    assert Formatter("id").message(needs_role.value.msg) == (
        "Tindakan ini memerlukan peran Analis, Pejabat; peran Anda adalah Auditor."
    )
    platform = Principal(org_id="p", org_name="x", org_kind=OrgKind.PLATFORM, role=Role.MODERATOR)
    with pytest.raises(Forbidden) as needs_kind:
        platform.require_kind(OrgKind.REGULATOR, OrgKind.ISP)
    assert needs_kind.value.message == "Only a regulator or isp organisation may do this."
    assert Formatter("en").message(needs_kind.value.msg) == needs_kind.value.message
    assert Formatter("id").message(needs_kind.value.msg) == (
        "Hanya organisasi berjenis regulator atau ISP yang dapat melakukan tindakan ini."
    )


def test_why_a_type_could_not_hash_an_upload_reads_in_indonesian_and_stays_english_for_api() -> (
    None
):
    from tangkal.hashing.signals import get

    pdq = get("pdq").hash_bytes(b"%PDF-1.4 not an image")
    assert pdq.signal is None and pdq.why is not None
    assert pdq.reason == "not a decodable image (no known image format), so PDQ was not computed"
    assert Formatter("id").message(pdq.why) == (
        "bukan gambar yang dapat didekode (format gambar tidak dikenal), sehingga PDQ tidak "
        "dihitung"
    )


def test_times_follow_the_profiles_time_zone() -> None:
    from zoneinfo import ZoneInfo

    berlin = Formatter("en", zone=ZoneInfo("Europe/Berlin"))
    assert berlin.when(NOW).endswith("CEST") and "9:05" in berlin.when(NOW)
    assert "Europe/Berlin" in berlin.zone_note() and "UTC+0" in berlin.zone_note()
    assert Formatter("id").zone_note() == (
        "Waktu ditampilkan dalam zona waktu Asia/Jakarta (WIB, UTC+07:00)."
    )


def test_who_did_it_is_named_in_words_not_as_the_audit_code() -> None:
    f = Formatter("id")
    assert f.actor("kominfo/pejabat-1(official)") == "pejabat-1 (Pejabat), kominfo"
    assert f.actor("kominfo/pejabat-1(official)", people=False) == "kominfo"
    assert f.actor("tangkal/system(admin)") == "tangkal (otomatis, menurut SOP)"
    assert f.actor("public:pemilik@contoh.co.id") == "pemilik@contoh.co.id"
    assert f.actor(None) == "—"


def test_a_moment_in_a_message_is_iso_for_the_api_and_local_words_on_a_page() -> None:
    due = datetime(2017, 7, 14, 7, 5, tzinfo=UTC)
    msg = Msg("Due by %(due)s, %(within)s after it.", due=due, within=timedelta(hours=48))
    assert msg.text == "Due by 2017-07-14T07:05:00+00:00, 2d after it."
    page = Formatter("id").message(Msg("Due by %(due)s", due=due)).replace("\u202f", " ")
    assert page.endswith("14 Jul 2017 14.05 WIB")


@pytest.mark.parametrize(
    ("lang", "seconds", "words"),
    [
        ("id", 172_800, "2 hari"),
        ("id", 5_400, "1 jam 30 menit"),
        ("en", 5_400, "1 hour 30 minutes"),
        ("en", 14 * 3600, "14 hours"),
        ("id", 0, "0 detik"),
    ],
)
def test_a_rules_period_is_said_exactly_in_the_readers_words(
    lang: str, seconds: int, words: str
) -> None:
    assert Formatter(lang).period(timedelta(seconds=seconds)) == words
