"""The SOP profile's ``[appeals]`` table: the time the regulator has to decide a public
appeal, strict like every table, two weeks by default and in the shipped profiles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tangkal.errors import ConfigurationError
from tangkal.sop.profile import read_profile, shipped_profiles
from tests.unit.sop.test_profile import MINIMAL, _write


def test_every_shipped_profile_decides_appeals_within_two_weeks() -> None:
    for name in shipped_profiles():
        p = read_profile(name)
        assert p.appeals.decide_within == timedelta(days=14), name
        assert p.appeals.warning_lead() == timedelta(days=2), name


def test_the_default_is_two_weeks_and_a_drill_divides_it(tmp_path: Path) -> None:
    p = read_profile(_write(tmp_path, MINIMAL))
    assert p.appeals.decide_within == timedelta(days=14)
    assert p.derive(14 * 24).appeals.decide_within == timedelta(hours=1)
    assert read_profile(
        _write(tmp_path, MINIMAL + '\n[appeals]\ndecide_within = "10d"\n')
    ).appeals.decide_within == timedelta(days=10)


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ('[appeals]\ndecide_within = "soon"\n', "decide_within"),
        ('[appeals]\ndecide_in = "7d"\n', "decide_in"),
    ],
)
def test_a_mistake_in_the_table_is_refused_naming_the_key(
    tmp_path: Path, table: str, why: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"appeals\.{why}"):
        read_profile(_write(tmp_path, MINIMAL + "\n" + table))
