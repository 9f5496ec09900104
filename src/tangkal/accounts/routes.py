"""HTTP routes for the caller's own organisation and the directory of organisations."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tangkal.accounts import services
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork
from tangkal.delivery.webhook_url import webhook_url_from_settings

router = APIRouter(prefix="/api/v1", tags=["organisations"])


class Open(BaseModel):
    """Passes on fields it does not name: the answers only grow (see orders.responses)."""

    model_config = ConfigDict(extra="allow")


class MeOut(Open):
    org: str
    org_id: str
    kind: str = Field(description="regulator, platform or isp")
    role: str
    user: str | None = Field(description="the person the token belongs to, when one")


class ContactOut(Open):
    name: str | None
    email: str | None
    phone: str | None


class OrgOut(Open):
    id: str
    kind: str
    name: str
    display_name: str | None
    country: str | None
    domains: list[str]
    contact: ContactOut
    delivery_channel: str = Field(description="webhook (pushed, signed) or inbox (pulled)")
    webhook_url: str | None
    webhook_signature: str | None = Field(default=None, description="tangkal or standard")


class OrgList(Open):
    orgs: list[OrgOut]


class DeliveryOut(OrgOut):
    webhook_secret: str | None = Field(description="shown once, in this answer only")


@router.get("/me", response_model=MeOut, response_model_exclude_unset=True)
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "org": principal.org_name,
        "org_id": principal.org_id,
        "kind": principal.org_kind.value,
        "role": principal.role.value,
        "user": principal.username,
    }


@router.get("/orgs", response_model=OrgList, response_model_exclude_unset=True)
def list_orgs(principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    """The regulator sees the directory; everyone else sees only their own organisation."""
    return {"orgs": [o.public_dict() for o in services.visible_orgs(session, principal)]}


class DeliveryIn(BaseModel):
    webhook_url: str | None = Field(
        default=None,
        max_length=2048,
        description="https URL of a public address (no credentials); null switches to the "
        "pull inbox",
    )
    signature: Literal["tangkal", "standard"] = Field(
        default="tangkal",
        description="How pushes are signed: 'tangkal' (Tangkal-Signature) or 'standard' "
        "(Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature, and a "
        "'whsec_' secret that its libraries take as it is)",
    )


@router.put("/orgs/me/delivery", response_model=DeliveryOut, response_model_exclude_unset=True)
def set_delivery(
    body: DeliveryIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """A platform admin chooses push (webhook, signed) or pull (inbox); the new secret is
    shown once in this answer."""
    principal.require(Role.ADMIN)
    principal.require_kind(OrgKind.PLATFORM)
    org = services.set_webhook(
        session,
        principal,
        services.own_org(session, principal),
        webhook_url_from_settings(body.webhook_url) if body.webhook_url else None,
        body.signature,
    )
    return {**org.public_dict(), "webhook_secret": org.webhook_secret}
