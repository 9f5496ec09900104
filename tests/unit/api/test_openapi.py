"""Routes that parse their own JSON body are still fully described in /openapi.json."""

from __future__ import annotations

import importlib
import re

from fastapi.routing import APIRoute
from starlette.routing import Match

from tangkal.api.app import ROUTER_MODULES, create_app
from tangkal.db.session import Database
from tangkal.settings import Settings


def test_order_intake_body_and_idempotency_header_are_documented() -> None:
    app = create_app(Database("sqlite://"), Settings(), background=False)
    doc = app.openapi()
    post = doc["paths"]["/api/v1/orders"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/OrderIn"
    schemas = doc["components"]["schemas"]
    assert {"platform", "category", "locators", "legal_basis", "reason"} <= set(
        schemas["OrderIn"]["required"]
    )
    # The nested model is a component too, and every reference in the document resolves.
    evidence = schemas["OrderIn"]["properties"]["evidence"]["items"]["$ref"]
    assert evidence == "#/components/schemas/EvidenceIn" and "EvidenceIn" in schemas
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for r in refs(doc):
        assert r.removeprefix("#/components/schemas/") in schemas, r


def test_no_request_could_match_routes_of_two_routers() -> None:
    """The routers are matched in a chosen order (the busiest first); that is safe only while
    no request could match routes of two of them."""
    routes = {
        ref: [r for r in importlib.import_module(ref).router.routes if isinstance(r, APIRoute)]
        for ref in ROUTER_MODULES
    }
    for ref, mine in routes.items():
        for route in mine:
            path = re.sub(r"{[^}]+}", "x", route.path)
            for method in route.methods:
                scope = {"type": "http", "path": path, "method": method, "root_path": ""}
                for other, theirs in routes.items():
                    if other != ref:
                        clash = [r.path for r in theirs if r.matches(scope)[0] == Match.FULL]
                        assert not clash, (method, route.path, ref, other, clash)
