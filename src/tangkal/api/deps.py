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

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import authenticate_token
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


def require(*roles: Role, kinds: tuple[OrgKind, ...] = ()) -> Callable[..., Principal]:
    """A dependency that admits only callers with one of ``roles`` (and org ``kinds``)."""

    def _check(principal: CurrentPrincipal) -> Principal:
        principal.require(*roles)
        if kinds:
            principal.require_kind(*kinds)
        return principal

    return _check
