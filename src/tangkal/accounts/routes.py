"""HTTP routes for the caller's own organisation and the directory of organisations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tangkal.accounts import services
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork

router = APIRouter(prefix="/api/v1", tags=["organisations"])


@router.get("/me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "org": principal.org_name,
        "org_id": principal.org_id,
        "kind": principal.org_kind.value,
        "role": principal.role.value,
        "user": principal.username,
    }


@router.get("/orgs")
def list_orgs(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    """The regulator sees the directory; everyone else sees only their own organisation."""
    return {"orgs": [o.public_dict() for o in services.visible_orgs(session, principal)]}


class DeliveryIn(BaseModel):
    webhook_url: str | None = Field(
        default=None, max_length=2048, description="null switches to the pull inbox"
    )


@router.put("/orgs/me/delivery")
def set_delivery(
    body: DeliveryIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """A platform admin chooses push (webhook, signed) or pull (inbox); the new secret is
    shown once in this answer."""
    principal.require(Role.ADMIN)
    principal.require_kind(OrgKind.PLATFORM)
    org = services.set_webhook(
        session, principal, services.own_org(session, principal), body.webhook_url
    )
    return {**org.public_dict(), "webhook_secret": org.webhook_secret}
