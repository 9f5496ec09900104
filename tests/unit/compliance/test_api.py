"""The HTTP routes and the command line: who may do what, clear 4xx answers, the round's
summary, the public lookup's verification, the metrics."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tangkal.accounts.models import Role
from tangkal.api.app import create_app
from tangkal.compliance import services
from tangkal.db.session import Database, forget_databases
from tangkal.settings import Settings, reset_settings_cache
from tests.unit.compliance.conftest import NX, REAL, ScriptedProber, World

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    app = create_app(db, Settings(), background=False)
    with TestClient(app) as c:
        yield c


def auth(world: World, org: object, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.factory.token(org, role)}"}  # type: ignore[arg-type]


def test_resolvers_over_http(client: TestClient, world: World) -> None:
    official = auth(world, world.regulator, Role.OFFICIAL)
    isp = auth(world, world.isp_a, Role.ISP)
    r = client.post(
        "/api/v1/resolvers",
        headers=official,
        json={"org": world.isp_a.name, "address": "192.0.2.1:5353"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["address"] == "192.0.2.1:5353" and r.json()["isp"] == world.isp_a.name
    first_id = r.json()["id"]
    r = client.post("/api/v1/resolvers", headers=isp, json={"address": "[2001:db8::1]"})
    assert r.status_code == 201, r.text
    own_id = r.json()["id"]
    r = client.post(
        "/api/v1/resolvers",
        headers=official,
        json={"address": "192.0.2.100", "control": True, "name": "control-1"},
    )
    assert r.status_code == 201 and r.json()["control"] is True

    refusals = [
        (
            official,
            {"org": world.isp_a.name, "address": "resolver.isp.example"},
            422,
            "not an IP address",
        ),
        (official, {"org": world.isp_a.name, "address": "192.0.2.9:70000"}, 422, "out of range"),
        (
            official,
            {"org": world.isp_b.name, "address": "192.0.2.1:5353"},
            409,
            "already registered",
        ),
        (isp, {"address": "192.0.2.8", "control": True}, 403, "regulator's"),
        (isp, {"address": "192.0.2.8", "org": world.isp_b.name}, 403, "its own"),
        (auth(world, world.platform, Role.ADMIN), {"address": "192.0.2.8"}, 403, "platform"),
        (official, {"address": "192.0.2.8", "port": 53}, 422, "Extra inputs"),
    ]
    for headers, body, status, says in refusals:
        r = client.post("/api/v1/resolvers", headers=headers, json=body)
        assert r.status_code == status, (body, r.text)
        assert says in r.text, (body, r.text)

    listed = client.get("/api/v1/resolvers", headers=isp).json()["resolvers"]
    assert {x["id"] for x in listed} == {first_id, own_id}
    assert len(client.get("/api/v1/resolvers", headers=official).json()["resolvers"]) == 3
    assert (
        client.get(
            "/api/v1/resolvers", headers=auth(world, world.platform, Role.MODERATOR)
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/resolvers/{own_id}", headers=auth(world, world.isp_b, Role.ADMIN)
        ).status_code
        == 404
    )
    r = client.delete(f"/api/v1/resolvers/{own_id}", headers=isp)
    assert r.status_code == 200 and r.json()["id"] == own_id


def test_compliance_probe_and_public_verification_over_http(
    client: TestClient, db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = auth(world, world.regulator, Role.OFFICIAL)
    for org, address in ((world.isp_a, "192.0.2.1"), (world.isp_b, "192.0.2.2")):
        assert (
            client.post(
                "/api/v1/resolvers", headers=official, json={"org": org.name, "address": address}
            ).status_code
            == 201
        )
    world.block(db, "web.telegram.org")
    prober = ScriptedProber(
        {("192.0.2.1", "web.telegram.org"): NX, ("192.0.2.2", "web.telegram.org"): REAL}
    )
    monkeypatch.setattr(services, "Prober", lambda **_kw: prober)

    assert (
        client.post(
            "/api/v1/compliance/probe", headers=auth(world, world.regulator, Role.ANALYST)
        ).status_code
        == 403
    )
    assert client.post("/api/v1/compliance/probe").status_code == 401
    r = client.post(
        "/api/v1/compliance/probe",
        headers=official,
        json={"domains": ["web.telegram.org", "bad domain"]},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/compliance/probe", headers=official, json={"domains": ["WEB.telegram.org"]}
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["trigger"] == "manual" and summary["resolvers"] == 2
    assert summary["counts"] == {"compliant": 1, "not_compliant": 1, "unreachable": 0}
    # no domains given: the periodic round's names (the sample of the list)
    r = client.post("/api/v1/compliance/probe", headers=official)
    assert r.status_code == 200 and r.json()["names"] == 1

    rows = client.get(
        "/api/v1/compliance",
        headers=auth(world, world.regulator, Role.AUDITOR),
        params={"domain": "web.telegram.org"},
    ).json()["items"]
    assert {(i["isp"], i["compliant"]) for i in rows} == {
        (world.isp_a.name, True),
        (world.isp_b.name, False),
    }
    assert set(rows[0]) >= {
        "isp",
        "resolver",
        "domain",
        "expected",
        "observed",
        "compliant",
        "state",
        "since",
        "checked_at",
        "serial_lag",
    }
    mine = client.get("/api/v1/compliance", headers=auth(world, world.isp_b, Role.ISP)).json()[
        "items"
    ]
    assert [i["isp"] for i in mine] == [world.isp_b.name]
    assert (
        client.get(
            "/api/v1/compliance", headers=auth(world, world.platform, Role.AUDITOR)
        ).status_code
        == 403
    )
    hist = client.get(
        "/api/v1/compliance/history", headers=official, params={"isp": world.isp_b.name}
    ).json()["items"]
    assert [(h["from_state"], h["to_state"]) for h in hist] == [(None, "not_compliant")]

    public = client.get("/api/v1/public/lookup", params={"domain": "web.telegram.org"}).json()
    v = public["verification"]
    assert (v["isps_checked"], v["isps_compliant"]) == (2, 1) and v["checked_at"]
    assert "192.0.2" not in str(public)

    metrics = client.get("/metrics").text
    assert (
        f'tangkal_compliance_names{{isp="{world.isp_b.name}",state="not_compliant"}} 1.0' in metrics
    )
    assert "tangkal_compliance_round_seconds" in metrics


def test_the_command_line(db: Database, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tangkal.cli.main import app

    monkeypatch.setenv("TANGKAL_DATABASE_URL", db.url)
    reset_settings_cache()
    forget_databases()
    try:
        runner = CliRunner()
        bad = runner.invoke(
            app, ["resolver", "add", "--org", world.isp_a.name, "--address", "resolver.example:53"]
        )
        assert bad.exit_code == 2 and "not an IP address" in bad.output
        none = runner.invoke(app, ["resolver", "add", "--address", "192.0.2.1"])
        assert none.exit_code == 2 and "--control" in none.output
        ok = runner.invoke(
            app,
            [
                "resolver",
                "add",
                "--org",
                world.isp_a.name,
                "--address",
                "192.0.2.1:5353",
                "--name",
                "ns1",
            ],
        )
        assert ok.exit_code == 0, ok.output
        assert f"resolver of {world.isp_a.name}" in ok.output
        ctl = runner.invoke(app, ["resolver", "add", "--control", "--address", "192.0.2.100"])
        assert ctl.exit_code == 0 and "control resolver" in ctl.output
        dup = runner.invoke(app, ["resolver", "add", "--control", "--address", "192.0.2.100:53"])
        assert dup.exit_code == 2 and "already registered" in dup.output
        listed = runner.invoke(app, ["resolver", "list"])
        assert "ns1" in listed.output and "192.0.2.100:53" in listed.output
    finally:
        reset_settings_cache()
        forget_databases()
