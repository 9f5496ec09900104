"""schemathesis against a running ``tangkal serve``: requests generated from /openapi.json,
and every answer must pass all of schemathesis' checks (the documented status codes,
content types, headers and response bodies, the error body included; invalid data refused,
valid data accepted, authentication enforced) and never be a server error.

Bounded: a few examples per operation, no shrinking and no example database, so a run
costs seconds. Every operation is exercised twice: with a regulator analyst's token and
with a platform moderator's, so both sides' permissions and answers are checked (the probe
round needs an official, so it is refused and never asks a resolver). The hash-bank and
RPZ operations' success bodies are not modelled yet, so for them only the status codes,
content types and error bodies are really checked.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.functional.test_orders_http import Parties, _parties
from tests.support import LiveServer

_PARTIES: dict[str, Parties] = {}


@pytest.fixture
def api_schema(live: LiveServer) -> Any:
    loaded = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    # query parameters the document does not name are ignored, as HTTP APIs do (a proxy's
    # cache-buster is not an error): not a refusal to expect
    loaded.config.generation.update(allow_extra_parameters=False)
    return loaded


@pytest.fixture
def tokens(live: LiveServer) -> tuple[str, str]:
    """A regulator analyst's and a platform moderator's token (one pair of organisations
    per server): many operations answer each, the others refuse them as documented."""
    if live.url not in _PARTIES:
        _PARTIES[live.url] = _parties(live)
    return _PARTIES[live.url].analyst, _PARTIES[live.url].moderator


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_answers_conform_to_the_document(
    case: Any, live: LiveServer, tokens: tuple[str, str]
) -> None:
    # no checks named: every built-in check schemathesis has (its CLI's --checks all), but
    # one: "schema-valid data is accepted" cannot hold where validity is a domain rule the
    # document cannot state (a name under a public suffix, a category of the SOP profile the
    # server runs, an order that exists); those refusals are 4xx, still checked as such
    for token in tokens:
        case.call_and_validate(
            base_url=live.url,
            headers={"Authorization": f"Bearer {token}"},
            excluded_checks=[positive_data_acceptance],
        )
