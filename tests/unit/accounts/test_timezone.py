"""A person's own time zone (WITA, WIT beside the profile's WIB): one of the profile's
choices, set by the person, an admin of their organisation or the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tangkal.accounts import services
from tangkal.accounts.models import Role, User
from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.errors import Forbidden, InvalidInput, NotFound
from tangkal.sop.profile import load_profile
from tangkal.web.templating import environment
from tests.factories import Factory


def test_indonesia_offers_its_three_zones_with_wib_first() -> None:
    assert load_profile("indonesia").zone_choices == (
        "Asia/Jakarta",
        "Asia/Makassar",
        "Asia/Jayapura",
    )
    assert load_profile("netzdg").zone_choices == ("Europe/Berlin",)


def test_a_person_sets_their_own_zone_and_the_profiles_own_is_stored_as_none(
    db: Database, factory: Factory
) -> None:
    org = factory.regulator()
    analyst = factory.person(org, Role.ANALYST)
    with db.unit_of_work() as s:
        user = s.get_one(User, analyst.user_id)
        services.set_timezone(s, analyst, user, "Asia/Makassar")
        assert user.timezone == "Asia/Makassar"
        services.set_timezone(s, analyst, user, "Asia/Jakarta")
        assert user.timezone is None  # the profile's zone: follows the profile if it changes


def test_a_zone_the_profile_does_not_offer_is_refused_naming_the_choices(
    db: Database, factory: Factory
) -> None:
    org = factory.regulator()
    analyst = factory.person(org, Role.ANALYST)
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as refused:
        services.set_timezone(s, analyst, s.get_one(User, analyst.user_id), "Europe/Berlin")
    assert refused.value.field == "timezone"
    assert "Asia/Makassar" in refused.value.message


def test_only_an_admin_of_the_organisation_sets_someone_elses_zone(
    db: Database, factory: Factory
) -> None:
    org, other_org = factory.regulator(), factory.regulator()
    analyst = factory.person(org, Role.ANALYST)
    colleague = factory.person(org, Role.ANALYST)
    admin = factory.person(org, Role.ADMIN)
    outsider = factory.person(other_org, Role.ADMIN)
    with db.unit_of_work() as s:
        user = s.get_one(User, analyst.user_id)
        with pytest.raises(Forbidden):
            services.set_timezone(s, colleague, user, "Asia/Jayapura")
        with pytest.raises(NotFound):  # another organisation's person is not even named
            services.set_timezone(s, outsider, user, "Asia/Jayapura")
        services.set_timezone(s, admin, user, "Asia/Jayapura")
        services.set_timezone(s, SYSTEM, user, "Asia/Jayapura")
        assert user.timezone == "Asia/Jayapura"


def test_pages_render_times_in_the_zone_asked_for() -> None:
    at = datetime(2017, 7, 14, 7, 5, tzinfo=UTC)  # 14.05 in Jakarta, 15.05 in Makassar
    assert "15.05 WITA" in environment("id", "Asia/Makassar").filters["dt"](at)
    assert "16.05 WIT" in environment("id", "Asia/Jayapura").filters["dt"](at)
    assert "14.05 WIB" in environment("id").filters["dt"](at)
