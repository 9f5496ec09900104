"""``/readyz`` is false, with a reason, while the database refuses connections or the RPZ
primary is not serving; ``/healthz`` stays a liveness check and says ok all the while."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.settings import Settings
from tests.support import free_port


def test_not_ready_while_postgresql_refuses_and_no_primary_serves() -> None:
    # Nothing listens on either port: PostgreSQL refuses the connection, no DNS answers.
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    app = create_app(db, Settings(), background=False, dns_port=free_port())
    try:
        with TestClient(app) as client:
            r = client.get("/readyz")
            assert r.status_code == 503
            body = r.json()
            assert body["status"] == "not ready"
            assert body["checks"]["database"] == {
                "ok": False,
                "status": "failing",
                "reason": "the database refuses connections",
            }
            assert body["checks"]["rpz"]["ok"] is False
            assert "RPZ primary" in body["checks"]["rpz"]["reason"]
            assert "the database refuses connections" in body["reason"]
            assert "RPZ primary" in body["reason"]
            assert r.headers["cache-control"] == "no-store"
            # Liveness is not readiness: the process answers, so it must not be restarted.
            assert client.get("/healthz").status_code == 200
    finally:
        db.dispose()


def test_ready_with_a_database_and_no_primary_configured(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/ready.db")
    app = create_app(db, Settings(), background=False, dns_port=None)
    try:
        with TestClient(app) as client:
            r = client.get("/readyz")
            assert r.status_code == 200, r.text
            assert r.json() == {
                "status": "ready",
                "checks": {
                    "database": {"ok": True, "status": "ok"},
                    "rpz": {"ok": True, "status": "disabled"},
                },
            }
    finally:
        db.dispose()
