"""SOP profiles: shipped ones validate, durations parse, mistakes fail at load time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tangkal.errors import ConfigurationError, InvalidInput
from tangkal.sop.profile import load_profile, parse_duration, shipped_profiles


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
    assert [w.code for w in p.warnings] == ["ST1", "ST2", "ST3"]
    assert p.warnings[1].fine > 0 and p.normalisation_max_blocks == 3


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


def test_profile_file_with_short_durations_loads(tmp_path: Path) -> None:
    f = tmp_path / "fast.toml"
    f.write_text(
        'name = "fast"\n[deadlines]\nurgent = "2s"\n[escalation]\ninterval = "1s"\n'
        'warnings = [{code = "ST1"}, {code = "ST2", fine = 10}]\n'
        '[categories.terrorism]\nurgency = "urgent"\nlegal_basis = "test"\n'
    )
    p = load_profile(str(f))
    assert p.deadline("urgent") == timedelta(seconds=2) and len(p.warnings) == 2


def test_category_with_unknown_urgency_fails_at_load(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        'name = "bad"\n[deadlines]\nurgent = "4h"\n'
        '[categories.x]\nurgency = "slow"\nlegal_basis = "b"\n'
    )
    with pytest.raises(ConfigurationError, match="slow"):
        load_profile(str(f))
