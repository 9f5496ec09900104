"""HTTP: resolvers to probe, the compliance results and their history, a probe round now."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import authenticate_token
from tangkal.api.deps import CurrentPrincipal, UnitOfWork, get_db
from tangkal.api.openapi import choices
from tangkal.compliance import services
from tangkal.compliance.models import ProbeState
from tangkal.errors import Msg, Unauthenticated
from tangkal.locators import Domain

router = APIRouter(prefix="/api/v1", tags=["compliance"])


class ResolverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(
        max_length=100, description="IP or IP:PORT ([v6]:PORT); port 53 when left out"
    )
    org: str | None = Field(
        default=None,
        max_length=200,
        description="The ISP (name or id); an ISP's caller may leave it out",
    )
    control: bool = Field(
        default=False, description="An unfiltered control resolver (regulator only, no org)"
    )
    name: str | None = Field(default=None, max_length=200)


class ResolverOut(BaseModel):
    id: str
    isp: str | None
    control: bool
    name: str
    address: str
    serial: int | None = Field(description="The policy zone's SOA serial it answers")
    serial_lag: int | None = Field(description="Serials behind the primary")
    soa_checked_at: str | None
    filtering: str | None = Field(
        description="A control resolver found filtering: since when and why"
    )
    created_at: str | None


class ResolverList(BaseModel):
    resolvers: list[ResolverOut]


class ComplianceItem(BaseModel):
    isp: str
    resolver: str
    resolver_id: str
    domain: str
    expected: str = Field(description="nxdomain, nodata, landing or open")
    observed: str
    compliant: bool
    state: str = Field(description="compliant, not_compliant or unreachable")
    since: str | None = Field(description="When the state last changed")
    checked_at: str | None
    serial_lag: int | None
    escalated_at: str | None = Field(
        None,
        description="When this episode (not compliant past the SOP's grace) went on the "
        "case file and to the ISP",
    )


class ComplianceList(BaseModel):
    items: list[ComplianceItem]
    warnings: list[str] = Field(
        default_factory=list, description="Control resolvers found filtering (regulator)"
    )


class HistoryItem(BaseModel):
    isp: str | None
    resolver: str | None
    resolver_id: str
    domain: str
    from_state: str | None
    to_state: str
    expected: str
    observed: str
    at: str | None


class HistoryList(BaseModel):
    items: list[HistoryItem]


class ProbeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[str] = Field(
        default_factory=list,
        max_length=services.MAX_MANUAL_NAMES,
        description="Names to probe; empty: the periodic round's",
    )


class RoundOut(BaseModel):
    id: str | None
    trigger: str
    started_at: str | None
    finished_at: str | None
    seconds: float
    names: int
    resolvers: int
    controls: int
    probes: int
    counts: dict[str, int]
    changed: int = Field(description="Results whose state changed")
    warnings: list[str]
    primary_serial: int | None
    escalated: int = Field(
        0, description="Results newly escalated (not compliant past the SOP's grace)"
    )


@router.post("/resolvers", status_code=201, response_model=ResolverOut)
def add_resolver(body: ResolverIn, principal: CurrentPrincipal, session: UnitOfWork) -> ResolverOut:
    """An ISP (role isp or admin) registers its own resolvers; the regulator's officials and
    admins register any ISP's, and the control resolvers."""
    view = services.add_resolver(
        session, principal, address=body.address, org=body.org, control=body.control, name=body.name
    )
    return ResolverOut(**view.as_dict())


@router.get("/resolvers", response_model=ResolverList)
def list_resolvers(principal: CurrentPrincipal, session: UnitOfWork) -> ResolverList:
    return ResolverList(
        resolvers=[ResolverOut(**v.as_dict()) for v in services.list_resolvers(session, principal)]
    )


@router.delete("/resolvers/{resolver_id}", response_model=ResolverOut)
def remove_resolver(
    resolver_id: str, principal: CurrentPrincipal, session: UnitOfWork
) -> ResolverOut:
    return ResolverOut(**services.remove_resolver(session, principal, resolver_id).as_dict())


@router.get("/compliance", response_model=ComplianceList)
def compliance(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    domain: str | None = Query(None, max_length=1000),
    isp: str | None = Query(None, max_length=200),
    state: str | None = Query(None, max_length=20, json_schema_extra=choices(ProbeState)),
    limit: int = Query(1000, ge=1, le=10000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> ComplianceList:
    """The regulator and its auditors see every ISP; an ISP sees its own rows; platforms
    are refused."""
    items = services.compliance_items(
        session, principal, domain=domain, isp=isp, state=state, limit=limit, offset=offset
    )
    return ComplianceList(
        items=[ComplianceItem(**i) for i in items],
        warnings=[w.text for w in services.control_warnings(session, principal)],
    )


@router.get("/compliance/history", response_model=HistoryList)
def compliance_history(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    domain: str | None = Query(None, max_length=1000),
    isp: str | None = Query(None, max_length=200),
    limit: int = Query(1000, ge=1, le=10000),
) -> HistoryList:
    items = services.compliance_history(session, principal, domain=domain, isp=isp, limit=limit)
    return HistoryList(items=[HistoryItem(**i) for i in items])


async def _caller(request: Request) -> Principal:
    """The caller, read in a read-only session: a round stores its results in its own unit
    of work, which must not wait on a request's (SQLite has one writer)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            Msg(
                "Send your API token as 'Authorization: Bearer TOKEN' "
                "(make one with 'tangkal token create')."
            )
        )
    db = get_db(request)

    def check() -> Principal:
        with db.read_only() as session:
            return authenticate_token(session, token.strip())

    principal = await run_in_threadpool(check)
    request.state.principal = principal
    return principal


@router.post("/compliance/probe", response_model=RoundOut)
async def probe_now(
    request: Request,
    principal: Principal = Depends(_caller),
    body: ProbeIn = Body(default_factory=ProbeIn),
) -> RoundOut:
    """Run a probe round now (officials, admins): the names given, else those under open
    sanctions and normalisations and the next sample of the list; at most
    200 names, every registered resolver, at each resolver's bounded rate."""
    principal.require(Role.OFFICIAL, Role.ADMIN)
    principal.require_kind(OrgKind.REGULATOR)
    names = [Domain.parse(d).name for d in body.domains]
    summary = await services.manual_round(get_db(request), request.app.state.settings, names)
    return RoundOut(**summary.as_dict())
