"""A drill profile (Indonesia, 3600 times faster) in force for the procedure's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from tangkal.accounts.models import Organization, Role
from tangkal.sop.profile import SopProfile, load_profile
from tests.factories import Factory

TELEGRAM = ["t.me", "telegram.me", "telegram.org", "web.telegram.org"]


@pytest.fixture
def drill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SopProfile]:
    from tangkal.settings import reset_settings_cache

    profile = load_profile("indonesia").derive(3600, name="indonesia-drill")
    path = tmp_path / "drill.toml"
    path.write_text(tomli_w.dumps(profile.document()), encoding="utf-8")
    monkeypatch.setenv("TANGKAL_SOP_PROFILE", str(path))
    reset_settings_cache()
    load_profile.cache_clear()
    yield load_profile(str(path))
    reset_settings_cache()
    load_profile.cache_clear()


@pytest.fixture
def case(factory: Factory, drill: SopProfile) -> dict[str, object]:
    reg = factory.regulator()
    tg = factory.platform(domains=TELEGRAM)
    return {
        "profile": drill,
        "regulator": reg,
        "platform": tg,
        "analyst": factory.principal(reg, Role.ANALYST),
        "alice": factory.person(reg, Role.OFFICIAL, "alice"),
        "bob": factory.person(reg, Role.OFFICIAL, "bob"),
        "mod": factory.principal(tg, Role.MODERATOR),
        "other": factory.platform(domains=["lain-contoh.co.id"]),
    }


def platform_of(c: dict[str, object]) -> Organization:
    org = c["platform"]
    assert isinstance(org, Organization)
    return org
