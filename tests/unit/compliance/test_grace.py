"""The SOP profile's compliance table: the graces ISPs get, strict like the rest of a profile,
shipped in every profile and scaled by ``sop derive``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tangkal.errors import ConfigurationError
from tangkal.sop.profile import load_profile, read_profile

MINIMAL = """
name = "drill"
title = "Drill"
jurisdiction = "ID"
currency = "IDR"

[deadlines]
urgent = "2s"

[categories.terrorism]
label_en = "Terrorism"
label_id = "Terorisme"
urgency = "urgent"
legal_basis = "test"
"""


def test_indonesia_gives_isps_1x24_hours_to_normalise_and_less_for_a_block() -> None:
    c = load_profile("indonesia").compliance
    assert c.grace_after_restore == timedelta(hours=24)
    assert c.grace_after_block < c.grace_after_restore
    assert c.grace("open") == c.grace_after_restore
    assert c.grace("nxdomain") == c.grace("landing") == c.grace_after_block


@pytest.mark.parametrize("name", ["indonesia", "eu-tco", "netzdg"])
def test_every_shipped_profile_has_graces_and_a_drill_scales_them(name: str) -> None:
    base = load_profile(name)
    drill = base.derive(3600)
    assert drill.compliance.grace_after_block * 3600 == base.compliance.grace_after_block
    assert drill.compliance.grace_after_restore * 3600 == base.compliance.grace_after_restore
    assert "grace_after_block" in drill.document()["compliance"]


def test_a_profile_without_the_table_gets_the_defaults(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(MINIMAL, encoding="utf-8")
    c = read_profile(str(f)).compliance
    assert (c.grace_after_block, c.grace_after_restore) == (timedelta(hours=4), timedelta(hours=24))


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ('grace_after_blok = "1h"', "compliance.grace_after_blok: unknown key"),
        ('grace_after_block = "-1h"', "compliance.grace_after_block"),
        ("grace_after_restore = true", "compliance.grace_after_restore"),
    ],
)
def test_a_wrong_compliance_table_is_refused_naming_the_key(
    tmp_path: Path, table: str, why: str
) -> None:
    f = tmp_path / "p.toml"
    f.write_text(MINIMAL + f"\n[compliance]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=why):
        read_profile(str(f))
