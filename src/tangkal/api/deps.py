"""Request-scoped dependencies: the unit of work and the authenticated caller.

The unit of work commits when the route function returns and *before* the response is sent
(``scope="function"``), so a client is never told "201 Created" for a write that then fails
to commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import authenticate_token, cached_principal
from tangkal.db.session import Database
from tangkal.errors import Unauthenticated


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _uow(request: Request) -> Iterator[Session]:
    with get_db(request).unit_of_work() as session:
        yield session


UnitOfWork = Annotated[Session, Depends(_uow, scope="function")]


def _bearer(request: Request) -> str:
    """Only the Authorization header: a cookie would let any page a signed-in browser visits
    make API calls on its behalf (CSRF). The web console has its own session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Send your API token as 'Authorization: Bearer TOKEN' "
            "(make one with 'tangkal token create')."
        )
    return token.strip()


def current_principal(request: Request, session: UnitOfWork) -> Principal:
    principal = authenticate_token(session, _bearer(request))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _authenticate(db: Database, token: str) -> Principal:
    with db.read_only() as session:
        return authenticate_token(session, token)


async def principal_checked_at_commit(request: Request) -> Principal:
    """The caller, without a database read when the token was verified recently.

    Only for routes whose writes re-check the token inside the transaction that writes
    (see :func:`tangkal.accounts.services.live_token_ids`): the revocation check then
    happens at commit time instead of here, and costs one query per batch instead of one
    per request. An unknown token is verified against the database as usual.
    """
    token = _bearer(request)
    principal = cached_principal(token)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, get_db(request), token)
    request.state.principal = principal
    return principal


def require(*roles: Role, kinds: tuple[OrgKind, ...] = ()) -> Callable[..., Principal]:
    """A dependency that admits only callers with one of ``roles`` (and org ``kinds``)."""

    def _check(principal: CurrentPrincipal) -> Principal:
        principal.require(*roles)
        if kinds:
            principal.require_kind(*kinds)
        return principal

    return _check


def optional_principal(request: Request, session: UnitOfWork) -> Principal | None:
    """The caller when a token is sent, else None: for the few endpoints the public may use
    too (a member of the public asking for one domain's normalisation)."""
    if not request.headers.get("authorization"):
        return None
    return current_principal(request, session)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
