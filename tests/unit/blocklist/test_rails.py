"""The proportionality assessment: what a block on a name would touch."""

from __future__ import annotations

from tangkal.blocklist import services
from tangkal.blocklist.rails import assess, beneath_range, label_suffixes
from tangkal.db.session import Database
from tangkal.locators import Domain
from tests.factories import Factory
from tests.unit.blocklist.conftest import People, ensure_protected


def block(db: Database, who: object, name: str) -> None:
    with db.unit_of_work() as s:
        services.create_block(
            s,
            who,
            services.BlockRequest.build(  # type: ignore[arg-type]
                domain=name, action="nxdomain", legal_basis="UU ITE", reason="test"
            ),
        )


def test_label_suffixes_and_the_beneath_range_are_label_wise() -> None:
    assert label_suffixes("a.b.go.id") == ["a.b.go.id", "b.go.id", "go.id", "id"]
    low, high = beneath_range("telegram.org")
    assert low < "org.telegram.web" < high
    assert not (low < "org.telegramx" < high)  # telegramx.org is not beneath telegram.org


def test_names_listed_beneath_are_counted_and_sampled(db: Database, people: People) -> None:
    for n in (
        "a.wide.example.com",
        "b.c.wide.example.com",
        "wide.example.com.evil.net",
        "notwide.example.com",
    ):
        block(db, people.official(), n)
    with db.read_only() as s:
        a = assess(s, Domain.parse("wide.example.com"))
    assert a.listed_beneath_count == 2
    assert set(a.listed_beneath_sample) == {"a.wide.example.com", "b.c.wide.example.com"}
    assert not a.needs_second_approval
    assert a.to_dict()["collateral"]["listed_names_touched"] == 2


def test_a_name_already_covered_by_a_listed_parent_says_so(db: Database, people: People) -> None:
    block(db, people.official(), "parent.example.com")
    with db.read_only() as s:
        a = assess(s, Domain.parse("x.parent.example.com"))
    assert a.covered_by == ("parent.example.com",)


def test_platform_domains_above_or_beneath_make_a_whole_service_block(
    db: Database, factory: Factory
) -> None:
    org = factory.platform(domains=["svc-test.org", "cdn.svcmedia-test.net"])
    with db.read_only() as s:
        same = assess(s, Domain.parse("svc-test.org"))
        below = assess(s, Domain.parse("web.svc-test.org"))
        above = assess(s, Domain.parse("svcmedia-test.net"))
        unrelated = assess(s, Domain.parse("svc-test.org.example.com"))
    assert [p.relation for p in same.platforms] == ["same"]
    assert [p.relation for p in below.platforms] == ["beneath"]
    assert [p.relation for p in above.platforms] == ["contains"]
    assert below.platforms[0].platform == org.name
    assert below.whole_service and below.needs_second_approval
    assert any(org.name in r for r in below.reasons)
    assert not unrelated.whole_service


def test_protected_names_protect_everything_beneath_them(db: Database) -> None:
    with db.unit_of_work() as s:
        ensure_protected(s, "go.id", "government")
        ensure_protected(s, "root-servers.net", "root")
    with db.read_only() as s:
        gov = assess(s, Domain.parse("kominfo.go.id"))
        root = assess(s, Domain.parse("a.root-servers.net"))
        free = assess(s, Domain.parse("go.id.example.com"))
    assert [h.name for h in gov.protected] == ["go.id"] and gov.needs_second_approval
    assert root.is_protected
    assert not free.is_protected


def test_the_migration_seeds_a_sensible_protected_list(db: Database) -> None:
    # on PostgreSQL the per-test truncation puts the migrations' seed rows back (conftest)
    with db.read_only() as s:
        names = {p.name for p in services.list_protected(s)}
    assert {
        "root-servers.net",
        "gtld-servers.net",
        "go.id",
        "mil.id",
        "polri.go.id",
        "letsencrypt.org",
        "windowsupdate.com",
        "apple.com",
        "google.com",
        "cloudflare.com",
        "akamai.net",
    } <= names
