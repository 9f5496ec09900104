"""TCP admission of the RPZ primary (tangkal.rpz.limits): who may hold a connection, the
reserve anonymous connections never take, eviction of the oldest silent one, and the
counted summary of refusals (issue 12, finding 3)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tangkal.errors import ConfigurationError
from tangkal.rpz.limits import Gate, Refusals, TcpLimits, prefix_of
from tangkal.settings import Settings, get_settings

LIMITS = TcpLimits(connections=8, reserved=2, per_address=3, per_prefix=5)


def gate() -> tuple[Gate, list[str]]:
    return Gate(LIMITS, Refusals()), []


def closer(closed: list[str], name: str) -> Callable[[], None]:
    return lambda: closed.append(name)


def test_prefix_is_the_slash_24_or_slash_64() -> None:
    assert prefix_of("192.0.2.77") == "192.0.2.0/24"
    assert prefix_of("2001:db8:1:2:3::9") == "2001:db8:1:2::/64"
    assert prefix_of("::ffff:192.0.2.1") == "192.0.2.0/24"
    assert prefix_of("not-an-address") == "not-an-address"


def test_one_address_holds_at_most_its_share_until_it_authenticates() -> None:
    g, closed = gate()
    tickets = [g.admit("192.0.2.1", False, closer(closed, str(i))) for i in range(3)]
    assert all(tickets)
    assert g.admit("192.0.2.1", False, closer(closed, "x")) is None
    assert g.refusals.reasons["per_address"] == 1
    # a TSIG-signed first message takes it out of the address's count
    assert tickets[0] is not None and g.first_message(tickets[0], authenticated=True)
    assert tickets[0].state == "authenticated"
    assert g.admit("192.0.2.1", False, closer(closed, "y")) is not None
    # the /24 as a whole: 5 (2 left of the first 3, "y", and two more)
    assert g.admit("192.0.2.2", False, closer(closed, "z")) is not None
    assert g.admit("192.0.2.3", False, closer(closed, "v")) is not None
    assert g.admit("192.0.2.4", False, closer(closed, "w")) is None
    assert g.refusals.reasons["per_prefix"] == 1
    assert closed == []


def test_allow_listed_addresses_are_not_limited_per_address() -> None:
    g, closed = gate()
    held = [g.admit("192.0.2.9", True, closer(closed, str(i))) for i in range(8)]
    assert all(t is not None and t.state == "authenticated" for t in held)
    assert g.admit("192.0.2.9", True, closer(closed, "9th")) is None  # the total still holds
    assert g.refusals.reasons["full"] == 1


def test_anonymous_connections_never_take_the_reserve() -> None:
    g, closed = gate()
    anon = []
    for i in range(6):  # connections - reserved
        t = g.admit(f"198.51.{i}.1", False, closer(closed, str(i)))
        assert t is not None and g.first_message(t, authenticated=False)
        anon.append(t)
    t = g.admit("198.51.99.1", False, closer(closed, "7th"))
    assert t is not None
    assert not g.first_message(t, authenticated=False)  # answered once, then closed
    assert g.refusals.reasons["anonymous_full"] == 1
    g.release(t)
    for i in range(2):  # the reserve: subscribers' transfers still get in
        s = g.admit(f"203.0.113.{i}", False, closer(closed, f"s{i}"))
        assert s is not None and g.first_message(s, authenticated=True)
    assert g.anonymous == 6 and g.authenticated == 2
    for t in anon:
        g.release(t)
    assert g.anonymous == 0 and not g.per_ip and not g.per_prefix


def test_the_oldest_silent_connection_makes_room_for_a_new_one() -> None:
    g, closed = gate()
    pending = [g.admit(f"198.51.{i}.1", False, closer(closed, str(i))) for i in range(8)]
    assert all(pending)
    newest = g.admit("203.0.113.1", False, closer(closed, "new"))
    assert newest is not None
    assert closed == ["0"] and pending[0] is not None and pending[0].evicted
    assert g.refusals.reasons["evicted_idle"] == 1
    g.release(pending[0])  # the evicted connection's own cleanup is harmless
    assert len(g.pending) == 8 and "198.51.0.1" not in g.per_ip


def test_refusals_are_one_summary_with_top_addresses_and_few_detail_lines() -> None:
    r = Refusals()
    details = sum(r.note("not_allowed", "192.0.2.1") for _ in range(500))
    details += sum(r.note("per_address", f"10.0.0.{i % 50}") for i in range(300))
    assert details == 1 + Refusals.DETAIL_LINES - 1  # first of each pair, bounded
    s = r.take()
    assert s is not None
    assert s["total"] == 800 and s["reason_not_allowed"] == 500 and s["reason_per_address"] == 300
    assert s["top"].startswith("192.0.2.1=500,")
    assert r.take() is None
    assert r.note("not_allowed", "192.0.2.1")  # a new interval: a detail line again


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TANGKAL_RPZ_TCP_CONNECTIONS": "100", "TANGKAL_RPZ_TCP_RESERVED": "100"}, "less than"),
        ({"TANGKAL_RPZ_TCP_PER_ADDRESS": "10", "TANGKAL_RPZ_TCP_PER_PREFIX": "5"}, "at least"),
        ({"TANGKAL_RPZ_TCP_IDLE_FIRST": "0"}, "greater than 0"),
        ({"TANGKAL_RPZ_TCP_CONNECTIONS": "lots"}, "integer"),
    ],
)
def test_bad_limits_are_refused_with_the_variable_named(
    env: dict[str, str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigurationError) as err:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert says in str(err.value)
    assert any(name in str(err.value) for name in env)


def test_defaults_are_what_the_docs_say() -> None:
    limits = TcpLimits.from_settings(Settings())
    assert limits == TcpLimits()
    assert limits.reserved < limits.connections and limits.per_address <= limits.per_prefix
