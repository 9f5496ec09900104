"""SOP profiles: shipped ones validate, durations parse, mistakes fail at load time."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
import tomli_w

from tangkal.errors import ConfigurationError, InvalidInput
from tangkal.sop.profile import (
    Fine,
    format_duration,
    load_profile,
    parse_duration,
    parse_profile,
    read_profile,
    shipped_profiles,
)


@pytest.mark.parametrize("name", ["indonesia", "eu-tco", "netzdg"])
def test_shipped_profiles_load(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name and profile.categories
    assert name in shipped_profiles()


def test_indonesia_deadlines_follow_permenkominfo_5_2020() -> None:
    p = load_profile("indonesia")
    for urgent in ("terrorism", "csam", "public_order"):
        assert p.deadline(p.urgency_for(urgent)) == timedelta(hours=4)
    for normal in ("gambling", "disinformation", "hate_speech", "fraud"):
        assert p.deadline(p.urgency_for(normal)) == timedelta(hours=24)
    assert [s.code for s in p.steps] == ["ST1", "ST2", "ST3", "BLOCK"]
    assert [s.kind for s in p.steps] == ["warning_letter"] * 3 + ["sanction_proposal"]
    assert p.steps[1].fine is not None and p.steps[1].fine.amount > 0
    assert p.normalisation.max_blocks == 3 and p.normalisation.decide_within == timedelta(days=2)
    assert [c.name for c in p.normalisation.conditions] == [
        "government_channel",
        "trusted_flagger",
        "local_representative",
        "filtering_governance",
    ]
    assert p.sanctions.officials == 2 and p.timezone == "Asia/Jakarta"


def test_eu_tco_is_one_hour_and_netzdg_is_24h_or_7_days() -> None:
    assert load_profile("eu-tco").deadline("removal") == timedelta(hours=1)
    n = load_profile("netzdg")
    assert n.deadline("manifest") == timedelta(hours=24)
    assert n.deadline("other") == timedelta(days=7)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("1h30m", 5400), ("2d", 172800), ("45s", 45), (" 90 m ", 5400), (3, 3)],
)
def test_durations_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "4q", "h", "4h junk", "0s", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_duration(text)


def test_unknown_category_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="terrorism"):
        load_profile("indonesia").category("jaywalking")


MINIMAL = """\
name = "fast"
title = "Drill"
jurisdiction = "ID"
currency = "IDR"

[deadlines]
urgent = "2s"

[[escalation.steps]]
code = "ST1"
kind = "warning_letter"
label_en = "First letter"
label_id = "Surat Teguran 1"

[[escalation.steps]]
code = "ST2"
kind = "fine"
label_en = "Fine"
label_id = "Denda"
wait = "1s"
fine = { rule = "fixed", amount = 10 }

[categories.terrorism]
label_en = "Terrorism"
label_id = "Terorisme"
urgency = "urgent"
legal_basis = "test"
"""


def _write(tmp_path: Path, text: str) -> str:
    f = tmp_path / "p.toml"
    f.write_text(text, encoding="utf-8")
    return str(f)


def test_a_profile_with_second_durations_loads(tmp_path: Path) -> None:
    p = read_profile(_write(tmp_path, MINIMAL))
    assert p.deadline("urgent") == timedelta(seconds=2) and len(p.steps) == 2
    # the first step waits nothing after the deadline, the next its own wait
    assert p.steps[0].wait_for("urgent", timedelta(seconds=2), first=True) == timedelta(0)
    assert p.steps[1].wait_for("urgent", timedelta(seconds=2), first=False) == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("change", "key", "line", "why"),
    [
        (('currency = "IDR"', 'currency = "IDR"\ncolour = "red"'), "colour", 5, "unknown key"),
        (('wait = "1s"', 'wiat = "1s"'), "escalation.steps.1.wiat", 20, "unknown key"),
        (
            ("amount = 10", "amount = -10"),
            "escalation.steps.1.fine.amount",
            21,
            "greater than or equal to 0",
        ),
        (('kind = "fine"', 'kind = "fien"'), "escalation.steps.1.kind", 17, "did you mean 'fine'"),
        (('urgency = "urgent"', "urgency = 4"), "categories.terrorism.urgency", 26, "valid string"),
        (('urgent = "2s"', 'urgent = "2 weeks"'), "deadlines.urgent", 7, "Cannot read"),
    ],
)
def test_mistakes_are_refused_with_file_key_line_and_reason(
    tmp_path: Path, change: tuple[str, str], key: str, line: int, why: str
) -> None:
    path = _write(tmp_path, MINIMAL.replace(*change, 1))
    with pytest.raises(ConfigurationError) as err:
        read_profile(path)
    text = str(err.value)
    assert f"{path}, line {line}: {key}:" in text and why in text, text


def test_a_fine_on_a_step_that_cannot_levy_one_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace('kind = "warning_letter"', 'kind = "report"').replace(
        'label_id = "Surat Teguran 1"', 'label_id = "Surat Teguran 1"\nfine = { amount = 1 }'
    )
    with pytest.raises(ConfigurationError, match="cannot carry a fine"):
        read_profile(_write(tmp_path, text))


def test_an_unknown_approval_rule_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + '\n[approvals]\nsecond_official_for = ["whole_servce_block"]\n'
    with pytest.raises(ConfigurationError, match=r"approvals\.second_official_for"):
        read_profile(_write(tmp_path, text))


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace('title = "Drill"', 'title = "Drill'))
    with pytest.raises(ConfigurationError, match=r"not valid TOML.*line 2"):
        read_profile(path)


def test_category_with_unknown_urgency_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="slow"):
        read_profile(_write(tmp_path, MINIMAL.replace('urgency = "urgent"', 'urgency = "slow"')))


@pytest.mark.parametrize("name", ["indonesia", "eu-tco", "netzdg"])
def test_a_derived_drill_divides_every_duration_and_round_trips(name: str) -> None:
    base = load_profile(name)
    drill = base.derive(3600)
    for cls, d in base.deadlines.items():
        assert drill.deadlines[cls] * 3600 == d
    assert drill.deemed_receipt_after * 3600 == base.deemed_receipt_after
    assert drill.normalisation.decide_within * 3600 == base.normalisation.decide_within
    assert drill.objections.decide_within * 3600 == base.objections.decide_within
    assert drill.derived_from == name and drill.name == f"{name}-x3600"
    again = parse_profile(tomllib.loads(tomli_w.dumps(drill.document())), "again")
    assert again.document() == drill.document()


def test_deriving_below_speed_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="speed"):
        load_profile("indonesia").derive(0.5)


@pytest.mark.parametrize(
    ("fine", "late", "items", "amount"),
    [
        (Fine(rule="fixed", amount=100), timedelta(days=3), 5, 100),
        (Fine(rule="per_day_late", amount=100), timedelta(days=2, hours=1), 1, 300),
        (Fine(rule="per_day_late", amount=100, cap=250), timedelta(days=9), 1, 250),
        (Fine(rule="per_item", amount=100), timedelta(0), 7, 700),
        (Fine(rule="per_item", amount=100, cap=500), timedelta(0), 7, 500),
    ],
)
def test_fines_follow_their_rule_and_cap(
    fine: Fine, late: timedelta, items: int, amount: int
) -> None:
    assert fine.compute(late=late, items=items) == amount


@pytest.mark.parametrize("seconds", [4, 14400, 5400.5, 0.004, 172800])
def test_durations_format_exactly(seconds: float) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)
