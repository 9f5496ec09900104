"""Readiness: ``GET /readyz`` answers 200 only when this server can do its work.

``/healthz`` (in :mod:`tangkal.api.app`) is the *liveness* check and stays one: it says the
process answers HTTP and nothing more, so an orchestrator does not restart a healthy process
because its database is briefly away (a restart would not bring the database back, and all
workers restarting at once would make the outage longer). ``/readyz`` is what a load
balancer or a deployment waits for: it checks, on every call, that

* the database answers a ``SELECT 1`` through the app's own engine (pool, driver and all),
  within :data:`DATABASE_TIMEOUT` seconds;
* the RPZ primary serves: a SOA query for the zone over UDP to its port gets a DNS answer
  within :data:`DNS_TIMEOUT` seconds. The query goes over the network rather than asking
  the service object, because with ``--workers N`` only one worker runs the primary and
  every worker must answer for the server as a whole; any well-formed answer with the
  query's ID counts (a REFUSED still means the primary is up). A server started with
  ``--dns-port 0`` has no primary, and the check is reported as ``disabled``.

The answer says which check failed and why in a short fixed phrase; the driver's own message
(it may name hosts and users, and ``/readyz`` needs no token) goes to the server log, once
per change of state rather than once per probe.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rdatatype
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tangkal.api import asgi
from tangkal.db.session import Database

log = structlog.get_logger("tangkal.readyz")

DATABASE_TIMEOUT = 2.0  # seconds; a database slower than this to answer SELECT 1 is not ready
DNS_TIMEOUT = 1.0  # seconds; the primary answers SOA from memory, in microseconds when well

router = APIRouter(tags=["ops"])


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency's state: ``ok``, and a reason when it is not."""

    ok: bool
    reason: str | None = None
    disabled: bool = False

    def as_json(self) -> dict[str, Any]:
        if self.disabled:
            return {"ok": True, "status": "disabled"}
        out: dict[str, Any] = {"ok": self.ok, "status": "ok" if self.ok else "failing"}
        if self.reason:
            out["reason"] = self.reason
        return out


_last_failure: dict[str, str | None] = {}  # check name -> detail last logged


def _note(name: str, check: Check, detail: str | None) -> None:
    """Log a check's failure (with the driver's detail) and its recovery, once each."""
    previous = _last_failure.get(name)
    if not check.ok and previous != detail:
        log.warning("not ready", check=name, reason=check.reason, detail=detail)
        _last_failure[name] = detail
    elif check.ok and previous is not None:
        log.info("ready again", check=name)
        _last_failure[name] = None


def _select_one(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def check_database(db: Database) -> Check:
    """The database answers through the app's engine, in time."""
    detail: str | None = None
    try:
        await asyncio.wait_for(asyncio.to_thread(_select_one, db), DATABASE_TIMEOUT)
        check = Check(True)
    except TimeoutError:
        check = Check(False, f"the database did not answer within {DATABASE_TIMEOUT:g} s")
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        refused = "refused" in detail.lower() or "could not connect" in detail.lower()
        check = Check(
            False,
            "the database refuses connections"
            if refused or exc.connection_invalidated
            else f"the database fails ({type(exc.orig or exc).__name__})",
        )
    except (SQLAlchemyError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        check = Check(False, f"the database fails ({type(exc).__name__})")
    _note("database", check, detail)
    return check


def _dns_target(request: Request) -> tuple[str, int] | None:
    """Where the RPZ primary listens, seen from this worker: its own settings, or what
    ``tangkal serve --workers N`` told every worker (a non-primary worker runs no
    primary of its own but answers for the server)."""
    state = request.app.state
    port = getattr(state, "dns_port", None) or int(os.environ.get(asgi.ENV_DNS_PORT) or 0)
    if not port:
        return None
    host = getattr(state, "dns_host", None) or os.environ.get(asgi.ENV_DNS_HOST, "127.0.0.1")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


async def check_rpz(request: Request) -> Check:
    """The RPZ primary answers a SOA query for its zone over UDP."""
    target = _dns_target(request)
    if target is None:
        return Check(True, disabled=True)
    host, port = target
    zone = request.app.state.settings.rpz_zone
    query = dns.message.make_query(zone, dns.rdatatype.SOA)
    query.id = secrets.randbelow(1 << 16)
    detail: str | None = None
    try:
        answer = await dns.asyncquery.udp(query, host, port=port, timeout=DNS_TIMEOUT)
        check = Check(True) if answer.id == query.id else Check(False, "wrong answer")
    except dns.exception.Timeout:
        check = Check(
            False, f"the RPZ primary did not answer SOA on {host}:{port} within {DNS_TIMEOUT:g} s"
        )
    except (OSError, dns.exception.DNSException) as exc:
        detail = repr(exc)
        check = Check(False, f"the RPZ primary does not serve on {host}:{port}")
    _note("rpz", check, detail)
    return check


class CheckOut(BaseModel):
    """One check in the ``/readyz`` answer."""

    ok: bool
    status: str  # ok | failing | disabled
    reason: str | None = None


class ReadinessOut(BaseModel):
    """The ``/readyz`` answer, the same shape for 200 and 503."""

    status: str  # ready | not ready
    checks: dict[str, CheckOut]
    reason: str | None = None


@router.get(
    "/readyz",
    summary="Readiness: the database answers and the RPZ primary serves",
    response_model=ReadinessOut,
    responses={503: {"model": ReadinessOut, "description": "Not ready: which check, and why."}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 ``{"status": "ready", ...}`` only when every check passes; otherwise 503 with
    ``reason`` (the failing checks in one sentence) and each check's state."""
    database, rpz = await asyncio.gather(check_database(request.app.state.db), check_rpz(request))
    checks = {"database": database, "rpz": rpz}
    failing = [c.reason or name for name, c in checks.items() if not c.ok]
    body: dict[str, Any] = {
        "status": "ready" if not failing else "not ready",
        "checks": {name: c.as_json() for name, c in checks.items()},
    }
    if failing:
        body["reason"] = "; ".join(failing)
    return JSONResponse(
        body,
        status_code=200 if not failing else 503,
        headers={"Cache-Control": "no-store"},  # a cached "ready" would hide an outage
    )
