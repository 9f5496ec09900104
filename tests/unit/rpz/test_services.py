"""Keys, subscribers, lag and exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.errors import InvalidInput, NotFound
from tangkal.rpz import services
from tangkal.rpz.journal import RpzAction, ZoneChange, publish
from tangkal.settings import Settings
from tests.factories import Factory


def test_a_subscriber_behind_shows_how_many_change_sets_and_since_when(
    db: Database, factory: Factory
) -> None:
    isp = factory.isp()
    with db.unit_of_work() as s:
        sub = services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:5300", ["127.0.0.1"])
        first = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    with db.unit_of_work() as s:
        services.record_transfers(
            s, [services.Credit(sub.id, first, "AXFR", datetime.now(UTC), "allow-ip")]
        )
    for name in ("telegram.org", "web.telegram.org"):
        with db.unit_of_work() as s:
            publish(s, [ZoneChange(name, RpzAction.NXDOMAIN)])
    with db.read_only() as s:
        (st,) = services.subscriber_status(s)
    assert st.last_serial == first and st.changesets_behind == 2
    assert st.behind_since is not None and st.last_transfer_kind == "AXFR"


def test_a_group_credit_shows_the_groups_newest_serial_on_every_member_and_every_serial(
    db: Database, factory: Factory
) -> None:
    isp = factory.isp()
    with db.unit_of_work() as s:
        a = services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:5301", ["127.0.0.1"])
        b = services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:5302", ["127.0.0.1"])
        first = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    now = datetime.now(UTC)
    with db.unit_of_work() as s:  # one transfer that could be either's: a's slot moved
        services.record_transfers(
            s,
            [
                services.Credit(a.id, first, "AXFR", now, "allow-ip+group", (b.id,)),
                services.Credit(b.id, None, "AXFR", now, "allow-ip+group", (a.id,)),
            ],
        )
    with db.read_only() as s:
        got = {st.id: st for st in services.subscriber_status(s)}
    for st in got.values():
        assert st.credit == "group" and st.last_serial == first and st.changesets_behind == 0
        assert st.group is not None and st.group.members == sorted([a.id, b.id])
        assert sorted(st.group.serials, key=str) == sorted([first, None], key=str)
        assert st.group.holding_current == 1
        assert st.as_dict()["group"]["size"] == 2
    with db.unit_of_work() as s:  # the other one's transfer: both slots hold the serial
        services.record_transfers(
            s,
            [
                services.Credit(b.id, first, "AXFR", now, "allow-ip+group", (a.id,)),
                services.Credit(a.id, None, "AXFR", now, "allow-ip+group", (b.id,)),
            ],
        )
    with db.read_only() as s:
        (one, two) = services.subscriber_status(s)
    assert one.group and two.group and one.group.holding_current == 2


def test_a_subscriber_may_name_its_key_and_where_it_transfers_from(
    db: Database, factory: Factory
) -> None:
    isp, other = factory.isp(), factory.isp()
    with db.unit_of_work() as s:
        key, _secret = services.create_tsig_key(s, SYSTEM, isp.name)
        theirs, _ = services.create_tsig_key(s, SYSTEM, other.name)
        sub = services.add_subscriber(
            s, SYSTEM, isp.name, "127.0.0.1:5301", key_name=key.name, transfer_from="127.0.0.1:5399"
        )
        with pytest.raises(InvalidInput):
            services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:5301", key_name=theirs.name)
        for bad in ("host.example", "127.0.0.1:0", "127.0.0.1:99999"):
            with pytest.raises(InvalidInput):
                services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:5301", transfer_from=bad)
    with db.read_only() as s:
        (st,) = services.subscriber_status(s, factory.principal(isp, "isp"))
    assert st.id == sub.id and st.tsig_key == key.name and st.transfer_from == "127.0.0.1:5399"
    assert st.credit is None and st.as_dict()["group"] is None


def test_an_isp_sees_only_its_own_subscribers(db: Database, factory: Factory) -> None:
    a, b = factory.isp(), factory.isp()
    with db.unit_of_work() as s:
        services.add_subscriber(s, SYSTEM, a.name, "127.0.0.1:5300")
        services.add_subscriber(s, SYSTEM, b.name, "[::1]:5300")
    official = factory.principal(factory.regulator(), "official")
    with db.read_only() as s:
        mine = services.subscriber_status(s, factory.principal(a, "isp"))
        everyone = services.subscriber_status(s, official)
    assert [x.org for x in mine] == [a.name]
    assert {x.org for x in everyone} == {a.name, b.name}


@pytest.mark.parametrize(
    "notify", ["resolver.example:53", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1]53"]
)
def test_bad_notify_targets_are_refused(db: Database, factory: Factory, notify: str) -> None:
    isp = factory.isp()
    with pytest.raises(InvalidInput), db.unit_of_work() as s:
        services.add_subscriber(s, SYSTEM, isp.name, notify)


def test_keys_and_subscriptions_belong_to_isps(db: Database, factory: Factory) -> None:
    platform = factory.platform()
    with pytest.raises(InvalidInput), db.unit_of_work() as s:
        services.create_tsig_key(s, SYSTEM, platform.name)
    with pytest.raises(NotFound), db.unit_of_work() as s:
        services.create_tsig_key(s, SYSTEM, "no-such-isp")


def test_exports_stream_every_format(db: Database, tmp_path: object) -> None:
    with db.unit_of_work() as s:
        publish(
            s,
            [
                ZoneChange("t.me", RpzAction.NXDOMAIN),
                ZoneChange("telegram.org", RpzAction.LANDING),
                ZoneChange("ok.example.com", RpzAction.PASSTHRU),
                ZoneChange("web.telegram.org", RpzAction.NODATA),
            ],
        )
    settings = Settings(database_url=db.url)

    def text(fmt: str) -> str:
        return b"".join(services.export_stream(db, settings, fmt, batch=2)).decode()

    rpz = text("rpz")
    assert rpz.startswith("$ORIGIN rpz.tangkal.\n")
    assert "telegram.org CNAME laman-labuh.tangkal.id.\n" in rpz
    assert "*.ok.example.com CNAME rpz-passthru.\n" in rpz
    assert "web.telegram.org CNAME *.\n" in rpz
    assert text("domains").splitlines() == ["t.me", "telegram.org", "web.telegram.org"]
    assert "0.0.0.0 t.me" in text("hosts") and "ok.example.com" not in text("hosts")
    unbound = text("unbound")
    assert 'local-zone: "t.me." always_nxdomain' in unbound
    assert 'local-zone: "ok.example.com." always_transparent' in unbound
    assert 'local-data: "telegram.org. 60 IN CNAME laman-labuh.tangkal.id."' in unbound
    with pytest.raises(InvalidInput):
        services.check_format("bind")
