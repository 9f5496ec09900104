"""The database away is a 503 the caller can retry, never a 500; other driver errors are
bugs and stay 500 (with the reference to quote)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tangkal.api import errors


def _app(exc: Exception) -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


class _Refused(Exception):
    pass


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, _Refused("connection refused")),
        InterfaceError("SELECT 1", {}, _Refused("the connection is closed")),
        PoolTimeout("QueuePool limit of size 20 overflow 40 reached"),
    ],
    ids=["operational", "interface", "pool-timeout"],
)
def test_database_away_is_503_with_retry_after(exc: Exception) -> None:
    r = _app(exc).get("/boom")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    body = r.json()
    assert body["error"] == "database_unavailable"
    assert "Idempotency-Key" in body["message"] and "refused" not in body["message"]


def test_other_driver_errors_stay_500() -> None:
    r = _app(IntegrityError("INSERT", {}, _Refused("duplicate key"))).get("/boom")
    assert r.status_code == 500
    assert r.json()["error"] == "internal_error"
