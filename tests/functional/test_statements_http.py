"""Statements of reasons over real HTTP (SQLite and PostgreSQL): the API refuses what the
DSA Transparency Database would refuse, naming the DSA field, and the public export carries
the platforms' answers and the regulator's own decisions in that database's shape."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tangkal.statements import dsa
from tangkal.statements.export import CSV_COLUMNS
from tests.support import LiveServer, unique

ORDER = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}
CONDITIONS = {
    "government_channel": "A direct line to the ministry.",
    "trusted_flagger": "The ministry's reports go to the priority queue.",
    "local_representative": "A representative in Jakarta.",
    "filtering_governance": "An Indonesian-speaking moderation team.",
}
SECRET_WORDS = "Personal plea from the requester"  # the words of whoever asked to restore


def _cli(live: LiveServer, *args: str) -> str:
    r = live.cli(*args)
    assert r.returncode == 0, f"tangkal {' '.join(args)}: {r.stderr}{r.stdout}"
    return r.stdout.strip()


class World:
    def __init__(self, live: LiveServer) -> None:
        self.regulator = unique("kominfo")
        self.platform = unique("telegram")
        tag = unique("sor").lower()
        self.domains = [f"{tag}.org", f"{tag}.me"]
        _cli(live, "org", "create", "--kind", "regulator", "--name", self.regulator)
        _cli(
            live,
            "org",
            "create",
            "--kind",
            "platform",
            "--name",
            self.platform,
            *[a for d in self.domains for a in ("--domain", d)],
        )
        tok = ("token", "create", "--org")
        self.analyst = _cli(live, *tok, self.regulator, "--role", "analyst")
        self.alice = _cli(live, *tok, self.regulator, "--role", "official", "--user", "alice")
        self.bob = _cli(live, *tok, self.regulator, "--role", "official", "--user", "bob")
        self.moderator = _cli(live, *tok, self.platform, "--role", "moderator")


@pytest.fixture(scope="module")
def world(live: LiveServer) -> World:
    return World(live)


def _order(live: LiveServer, w: World) -> str:
    with live.client(w.analyst) as c:
        r = c.post(
            "/api/v1/orders",
            json={
                "platform": w.platform,
                "locators": [f"https://t.me/{unique('kanal').replace('-', '_')}/1"],
                **ORDER,
            },
        )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# (statement fields, the DSA field the refusal must name)
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"territorial_scope": ["ID"]}, "statement.territorial_scope"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "statement.content_type_other"),
    ({"content_type": ["PODCAST"]}, "statement.content_type"),
    ({"puid": "has spaces"}, "statement.puid"),
    ({"decision_facts": "x" * (dsa.FACTS + 1)}, "statement.decision_facts"),
    ({"category": "STATEMENT_CATEGORY_TERRORISM"}, "statement.category"),
    ({"content_date": "17/07/2017"}, "statement.content_date"),
    ({"application_date": "2019-12-31"}, "statement.application_date"),
    ({"source_type": "SOURCE_GOVERNMENT"}, "statement.source_type"),
    ({"decision_monetary": "DECISION_MONETARY_OTHER"}, "statement.decision_monetary_other"),
    (
        {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
        "statement.incompatible_content_ground",
    ),
    (
        {"illegal_content_legal_ground": "x" * (dsa.SHORT + 1)},
        "statement.illegal_content_legal_ground",
    ),
]


def test_a_statement_the_dsa_would_refuse_is_a_422_naming_the_field(
    live: LiveServer, world: World
) -> None:
    oid = _order(live, world)
    with live.client(world.moderator) as c:
        for extra, field in REFUSED:
            statement = {"decision_facts": "Channel removed.", **extra}
            r = c.post(
                f"/api/v1/orders/{oid}/response", json={"action": "removed", "statement": statement}
            )
            assert r.status_code == 422, (extra, r.text)
            body = r.json()
            assert body["field"] == field, (extra, body)
            assert field in body["message"]
            assert body["problems"][0]["field"] == field
        # nothing was stored: the order is still open and is answered now
        r = c.post(
            f"/api/v1/orders/{oid}/response",
            json={"action": "removed", "statement": "Channel removed within the hour."},
        )
    assert r.status_code == 200, r.text
    sor = r.json()["responses"][0]["statement"]
    assert sor["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert sor["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert sor["source_identity"] == world.regulator and sor["automated_detection"] is False


def _all(live: LiveServer, **params: Any) -> list[dict[str, Any]]:
    """Every page of the JSON export."""
    items: list[dict[str, Any]] = []
    cursor = None
    with live.client() as c:
        for _ in range(1000):
            q = {"format": "json", "limit": 7, **params, **({"cursor": cursor} if cursor else {})}
            r = c.get("/api/v1/public/statements", params=q)
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["dsa_db"]["commit"] == dsa.DSA_DB_COMMIT
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items
    raise AssertionError("the export never ended")


def test_the_public_export_in_json_and_csv(live: LiveServer, world: World) -> None:
    oid = _order(live, world)
    with live.client(world.moderator) as c:
        r = c.post(
            f"/api/v1/orders/{oid}/response",
            json={
                "action": "restricted_in_country",
                "statement": {
                    "decision_facts": "Withheld in Indonesia.",
                    "content_type": ["CONTENT_TYPE_VIDEO"],
                    "automated_detection": "Yes",
                },
            },
        )
    assert r.status_code == 200, r.text
    response_id = r.json()["responses"][0]["id"]
    blocked = f"{unique('blk')}.example.com"
    with live.client(world.alice) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": blocked,
                "action": "nxdomain",
                "legal_basis": "UU ITE Pasal 40 ayat 2b",
                "reason": "Terrorist propaganda site.",
                "category": "terrorism",
            },
        )
        assert r.status_code == 201, r.text
        block_id = r.json()["id"]
        r = c.post(
            "/api/v1/sanctions",
            json={
                "platform": world.platform,
                "action": "nxdomain",
                "legal_basis": "Permenkominfo 5/2020 Pasal 15 ayat 9",
                "reason": "Orders left unanswered.",
            },
        )
        assert r.status_code == 201, r.text
        sanction_id = r.json()["id"]
    for token in (world.alice, world.bob):
        with live.client(token) as c:
            assert c.post(f"/api/v1/sanctions/{sanction_id}/approve").status_code == 200
    with live.client(world.moderator) as c:
        r = c.post(
            "/api/v1/normalisations",
            json={"platform": world.platform, "reason": SECRET_WORDS, "conditions": CONDITIONS},
        )
        assert r.status_code == 201, r.text
        norm_id = r.json()["id"]
    with live.client(world.alice) as c:
        r = c.post(
            f"/api/v1/normalisations/{norm_id}/decision",
            json={"outcome": "refused", "reason": "The channel is still up."},
        )
        assert r.status_code == 200, r.text

    items = _all(live)
    mine = {
        i["uuid"]: i for i in items if i["uuid"] in (response_id, block_id, sanction_id, norm_id)
    }
    assert {i["kind"] for i in mine.values()} == {
        "platform_response",
        "block",
        "sanction",
        "normalisation_refusal",
    }
    assert len({i["uuid"] for i in items}) == len(items)  # the pages neither repeat nor skip
    answer = mine[response_id]
    assert answer["platform_name"] == world.platform
    assert answer["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert answer["content_type"] == ["CONTENT_TYPE_VIDEO"]
    assert answer["automated_detection"] == "Yes"
    assert mine[block_id]["platform_name"] == world.regulator
    assert mine[block_id]["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert blocked in mine[block_id]["decision_facts"]
    assert mine[sanction_id]["decision_provision"] == "DECISION_PROVISION_TOTAL_SUSPENSION"
    assert all(d in mine[sanction_id]["decision_facts"] for d in world.domains)
    assert mine[norm_id]["illegal_content_explanation"] == "The channel is still up."
    for item in mine.values():
        # every row is a statement the DSA database takes (its puid is private, as there)
        row = {k: v for k, v in item.items() if k in dsa.DsaStatement.model_fields}
        dsa.check({**row, "puid": "x"})
        text = json.dumps(item)
        assert "alice" not in text and "bob" not in text and SECRET_WORDS not in text
        assert "puid" not in item

    with live.client() as c:
        r = c.get("/api/v1/public/statements", params={"format": "csv", "limit": 1000})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert next(csv.reader(io.StringIO(r.text))) == list(CSV_COLUMNS)
        assert CSV_COLUMNS[: len(dsa.CSV_COLUMNS)] == dsa.CSV_COLUMNS
        rows = list(csv.DictReader(io.StringIO(r.text)))
        while "link" in r.headers:  # more than a thousand statements on this server
            r = c.get(r.headers["link"][1:].split(">")[0])
            rows += list(csv.DictReader(io.StringIO(r.text)))
        by_id = {row["uuid"]: row for row in rows}
        assert by_id[sanction_id]["decision_provision"] == "DECISION_PROVISION_TOTAL_SUSPENSION"
        assert by_id[block_id]["decision_visibility"] == '["DECISION_VISIBILITY_CONTENT_DISABLED"]'
        assert by_id[response_id]["automated_detection"] == "Yes"
        assert by_id[norm_id]["kind"] == "normalisation_refusal"

        # a date range that ends before anything was decided is empty; bad input is a 422
        r = c.get("/api/v1/public/statements", params={"until": "2020-01-01"})
        assert r.status_code == 200 and r.json()["items"] == []
        for bad, field in (
            ({"limit": 0}, "limit"),
            ({"cursor": "nonsense"}, "cursor"),
            ({"until": "0"}, "until"),
            ({"since": "2017-02-30"}, "since"),
            ({"since": "2020-01-02", "until": "2020-01-01"}, "since"),
        ):
            r = c.get("/api/v1/public/statements", params=bad)
            assert r.status_code == 422, r.text
            assert field in r.text
