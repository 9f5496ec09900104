"""schemathesis against a running ``tangkal serve``: requests generated from /openapi.json,
and every answer must pass all of schemathesis' checks (its CLI's ``--checks all``: the
documented status codes, content types, headers and response bodies, the error body
included; invalid data refused, valid data accepted, authentication enforced) and never be
a server error.

Bounded: a few examples per operation, no shrinking and no example database, so a run
costs seconds. Every operation is exercised twice: with a regulator analyst's token and
with a platform moderator's, so both sides' permissions and answers are checked (the probe
round needs an official, so it is refused and never asks a resolver).

"Schema-valid data is accepted" holds for every operation but those in
:data:`ACCEPTANCE_NOT_STATABLE`: a request the document calls valid gets a 2xx, or a 401,
403, 404, 409 or 429 (a caller without the right, an id that does not exist, a state that
forbids it). The document says every rule JSON Schema can say (docs/api.md, "What the
document promises"); the table names, per operation, the one it cannot.
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

_DOMAIN = (
    "a domain name must be under a public suffix of the Public Suffix List and not be one; "
    "a schema can say the characters of a host name, not which suffixes exist"
)
_SIGNAL = (
    "a signal's format (PDQ's 64 hex digits, vPDQ's frames, ...) depends on the signal type "
    "given beside it; JSON Schema cannot tie one parameter's or member's format to another's "
    "value"
)

#: Operations whose schema-valid requests may still be refused (422) by a rule the document
#: cannot state, each with that rule. Every other check still runs on them; every other
#: operation must accept what its document calls valid. Keep this short: state the rule in
#: the document whenever JSON Schema can.
ACCEPTANCE_NOT_STATABLE: dict[str, str] = {
    "GET /api/v1/blocks": _DOMAIN + " (the domain filter)",
    "GET /api/v1/blocks/assess": _DOMAIN,
    "GET /api/v1/compliance": _DOMAIN + " (the domain filter)",
    "GET /api/v1/public/lookup": _DOMAIN + "; and one of two query parameters (domain or q)"
    " is required, which OpenAPI cannot say of parameters",
    "POST /api/v1/blocks": _DOMAIN,
    "POST /api/v1/public/appeals": _DOMAIN + "; and the name must be blocked now",
    "POST /api/v1/normalisations": _DOMAIN + " (each of domains)",
    "POST /api/v1/orders": "each locator must be a URL or a name under a public suffix "
    "(" + _DOMAIN + "), and the platform must exist",
    "GET /api/v1/orders": "the platform filter must name an organisation that exists "
    "(refused with 422 naming it, not 404: the path names no object)",
    "GET /api/v1/sanctions": "the platform filter must name an organisation that exists "
    "(refused with 422 naming it)",
    "GET /api/v1/public/audit/proof/inclusion": "seq and size are at most the audit chain's "
    "length now, a bound that grows with every entry",
    "GET /api/v1/public/audit/proof/consistency": "first and second are at most the audit "
    "chain's length now, and first <= second",
    "GET /api/v1/match": _SIGNAL,
    "GET /m/raw_lookup": _SIGNAL,
    "GET /m/lookup": _SIGNAL + "; and signal and signal_type are required together",
    "POST /m/compare": _SIGNAL + " (the member's name is the type)",
    "POST /c/bank/{bank_name}/signal": _SIGNAL,
    "POST /api/v1/banks/{name}/content": "a file or a JSON signal, read by the route itself: "
    + _SIGNAL,
    "POST /api/v1/banks/{name}/import": "the file must parse as the exchange format named "
    "beside it (te, csv or tat)",
    "POST /api/v1/match": "the upload must be a non-empty file; the multipart field is "
    "FastAPI's own, whose schema has no minimum size",
    "GET /api/v1/compliance/history": _DOMAIN + " (the domain filter)",
    "GET /api/v1/public/statements": "cursor must be a next_cursor an earlier page gave (a "
    "page's place, encoded); the document can say its characters, not what it decodes to",
    "POST /h/hash": "the file must decode as what its field names it (a photo, a video)",
    "POST /m/lookup": "the file must decode as what its field names it (a photo, a video)",
    "POST /c/bank/{bank_name}/content": "the file must decode as what its field names it",
    "PUT /c/bank/{bank_name}": "the name, if given, must be the bank's own (the path's, in "
    "any case): a tangkal bank keeps its name; JSON Schema cannot tie a body member to a path "
    "parameter",
    "GET /h/hash": "HMA's hash-by-URL: tangkal never fetches a URL, so it always refuses; "
    "the operation is documented only for HMA clients",
}


@pytest.fixture
def api_schema(live: LiveServer) -> Any:
    import httpx

    # the server makes its document once, on the first request: made here with time to spare
    # on a loaded machine, schemathesis' loader (10 s) then reads it as made
    httpx.get(f"{live.url}/openapi.json", timeout=120).raise_for_status()
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
    # no checks named: every built-in check schemathesis has (its CLI's --checks all)
    label = f"{case.method.upper()} {case.operation.path}"
    excluded = [positive_data_acceptance] if label in ACCEPTANCE_NOT_STATABLE else []
    for token in tokens:
        case.call_and_validate(
            base_url=live.url,
            headers={"Authorization": f"Bearer {token}"},
            excluded_checks=excluded,
        )


def test_the_exclusions_name_operations_of_the_document(live: LiveServer) -> None:
    """An entry for an operation that was renamed or removed would excuse nothing: refused."""
    import httpx

    doc = httpx.get(f"{live.url}/openapi.json", timeout=30).json()
    known = {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item}
    assert set(ACCEPTANCE_NOT_STATABLE) <= known, set(ACCEPTANCE_NOT_STATABLE) - known
