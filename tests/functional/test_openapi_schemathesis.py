"""schemathesis against a running ``tangkal serve``: requests generated from /openapi.json,
and every answer must conform to the document (the documented status codes, content types
and response bodies, the error body included) and never be a server error.

Bounded: a few examples per operation, no shrinking and no example database, so a run
costs seconds. Every operation is exercised with an analyst's token (the probe round among
them: it needs an official, so it is refused and never asks a resolver). The hash-bank and
RPZ operations' success bodies are not modelled yet, so for them only the status codes,
content types and error bodies are really checked.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.functional.test_orders_http import _parties
from tests.support import LiveServer


@pytest.fixture
def api_schema(live: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


@pytest.fixture
def token(live: LiveServer) -> str:
    """An analyst's token: many operations answer it, the others refuse it as documented."""
    return _parties(live).analyst


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_answers_conform_to_the_document(case: Any, live: LiveServer, token: str) -> None:
    case.call_and_validate(
        base_url=live.url,
        headers={"Authorization": f"Bearer {token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
