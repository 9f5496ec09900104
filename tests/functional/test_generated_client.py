"""A client generated from the running server's ``/openapi.json`` by openapi-python-client
files an order, the platform acknowledges and answers it, and a refusal comes back as the
documented error body: the document is enough to build a working, typed client.

openapi-python-client pins typer below the version tangkal runs with, so it is not in the
``[test]`` extra; it is run from its own environment, named by ``OPENAPI_PYTHON_CLIENT``
(the executable) or found on ``PATH``, e.g.
``python3 -m venv /tmp/opc && /tmp/opc/bin/pip install openapi-python-client``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_orders_http import TERROR, _parties
from tests.support import LiveServer

GENERATOR = os.environ.get("OPENAPI_PYTHON_CLIENT") or shutil.which("openapi-python-client")

# scripts/test (and so CI) always provides it: there a missing generator is a failure
pytestmark = pytest.mark.skipif(
    GENERATOR is None and not os.environ.get("CI"),
    reason="openapi-python-client is not installed (see the module text; scripts/test installs it)",
)


def _generate(live: LiveServer, where: Path) -> str:
    """Generate the client from the live document; the name of its package."""
    assert GENERATOR, "openapi-python-client is missing: scripts/test installs it"
    with live.client() as c:
        doc = c.get("/openapi.json").json()
    spec = where / "openapi.json"
    spec.write_text(json.dumps(doc))
    name = f"tangkal_generated_{os.getpid()}_{where.name}".replace("-", "_")
    config = where / "config.json"
    config.write_text(json.dumps({"package_name_override": name}))
    r = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            *("--path", str(spec), "--meta", "none", "--config", str(config)),
            *("--output-path", str(where / name)),
        ],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # every operation was generated: the document has nothing the generator could not read
    assert "Warning" not in r.stdout and "WARNING" not in r.stdout, r.stdout
    sys.path.insert(0, str(where))
    return name


def test_generated_client_files_acks_and_answers_an_order(live: LiveServer, tmp_path: Path) -> None:
    name = _generate(live, tmp_path)
    try:
        pkg = importlib.import_module(name)
        orders = importlib.import_module(f"{name}.api.orders")
        models = importlib.import_module(f"{name}.models")
        create = importlib.import_module(f"{orders.__name__}.create_order_api_v1_orders_post")
        ack = importlib.import_module(
            f"{orders.__name__}.acknowledge_api_v1_orders_order_id_ack_post"
        )
        respond = importlib.import_module(
            f"{orders.__name__}.respond_api_v1_orders_order_id_response_post"
        )
        get = importlib.import_module(f"{orders.__name__}.get_order_api_v1_orders_order_id_get")

        p = _parties(live)
        analyst = pkg.AuthenticatedClient(base_url=live.url, token=p.analyst)
        moderator = pkg.AuthenticatedClient(base_url=live.url, token=p.moderator)

        filed = create.sync(
            client=analyst,
            body=models.OrderIn(
                platform=p.platform,
                locators=["https://t.me/kanal_klien/3"],
                # the document lists the running profile's categories, so the client has an enum
                **{**TERROR, "category": models.OrderInCategory(TERROR["category"])},
            ),
        )
        assert isinstance(filed, models.OrderOut), filed
        assert filed.status == "issued" and filed.deadline_provisional is True
        assert filed.locators[0].canonical

        acked = ack.sync(filed.id, client=moderator)
        assert isinstance(acked, models.OrderOut), acked
        assert acked.acknowledged_at is not None and acked.deadline_provisional is False

        answered = respond.sync(
            filed.id,
            client=moderator,
            body=models.ResponseIn(
                action=models.ResponseInAction.REMOVED,
                statement="The channel and the post were removed.",
            ),
        )
        assert isinstance(answered, models.OrderOut), answered
        assert [r.action for r in answered.responses] == ["removed"]

        seen = get.sync(filed.id, client=analyst)
        assert isinstance(seen, models.OrderOut) and seen.status == answered.status
        # a field the model does not name still reaches the client
        assert "responses" in seen.to_dict()

        refused = get.sync("no-such-order", client=analyst)
        assert isinstance(refused, models.ErrorBody), refused
        assert refused.error == "not_found" and refused.message
        anonymous = pkg.AuthenticatedClient(base_url=live.url, token="not-a-token")
        refused = get.sync(filed.id, client=anonymous)
        assert isinstance(refused, models.ErrorBody) and refused.error == "unauthenticated"
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]
