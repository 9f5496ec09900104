"""HTTP routes for orders, the platform inbox and the SOP in force."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from tangkal import limits
from tangkal.accounts.models import OrgKind, Role
from tangkal.api.deps import CurrentPrincipal, UnitOfWork, principal_checked_at_commit
from tangkal.api.openapi import choices, json_body, parse_json_body
from tangkal.db.groupcommit import GroupCommitter
from tangkal.delivery import services as delivery
from tangkal.errors import TooLarge
from tangkal.hashing import order_copies
from tangkal.orders import services, shapes
from tangkal.orders.filing import prepare_order
from tangkal.orders.idempotency import MAX_KEY_LENGTH as IDEMPOTENCY_KEY_MAX
from tangkal.orders.idempotency import IdemKey as IdempotencyKey
from tangkal.orders.idempotency import run_once
from tangkal.orders.intake import IntakeAnswer, IntakeRequest, create_committer
from tangkal.orders.models import OrderStatus
from tangkal.orders.responses import (
    DeliveryList,
    EvidenceOut,
    Inbox,
    OrderList,
    OrderMatchesOut,
    OrderOut,
    SopOut,
)
from tangkal.orders.schemas import (
    ClarificationAnswerIn,
    ClarificationIn,
    OrderIn,
    ResponseIn,
)
from tangkal.settings import get_settings
from tangkal.sop.profile import active_profile

router = APIRouter(prefix="/api/v1", tags=["orders"])
IdemKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX, pattern=r"\S"),
]


def _intake(request: Request) -> GroupCommitter[IntakeRequest, IntakeAnswer]:
    """The process's one order-intake writer, made on first use and closed at shutdown."""
    state = request.app.state
    committer: GroupCommitter[IntakeRequest, IntakeAnswer] | None = getattr(
        state, "order_intake", None
    )
    if committer is None:
        committer = state.order_intake = create_committer(state.db)
        state.closing.append(committer.close)
    return committer


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,  # documentation: the route answers its own encoded bytes
    responses={200: {"model": OrderOut, "description": "Replayed (same Idempotency-Key)"}},
    openapi_extra=json_body(
        OrderIn,
        token=True,
        headers={
            "Idempotency-Key": (
                "Retry safely: the same key answers with the first result",
                {"minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": "\\S"},
            )
        },
    ),
)
async def create_order(request: Request) -> Response:
    """File an order. The deadline is provisional until the platform's authenticated receipt.

    Checked here, written by the group commit (:mod:`tangkal.orders.intake`); the answer
    comes after the commit. The busiest route: it reads its caller and body itself instead
    of through FastAPI parameters (:mod:`tangkal.api.openapi` says why).
    """
    principal = await principal_checked_at_commit(request)
    body = await parse_json_body(request, OrderIn)
    idempotency_key = request.headers.get("idempotency-key")
    idem = (
        None
        if idempotency_key is None
        else IdempotencyKey.of(
            principal, idempotency_key, "orders.create", body.model_dump(mode="json")
        )
    )
    order = prepare_order(principal, body)
    answer = await _intake(request).submit(IntakeRequest(principal, order, idem))
    # Encoded by pydantic-core (Rust): the standard library's encoder was about 7 % of the
    # server's interpreter time under intake load.
    return Response(
        to_json(answer.body),
        status_code=answer.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if answer.replayed else None,
    )


@router.get("/orders", response_model=OrderList, response_model_exclude_unset=True)
def list_orders(
    principal: CurrentPrincipal,
    session: UnitOfWork,
    status: str | None = Query(None, json_schema_extra=choices(OrderStatus)),
    platform: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> dict[str, Any]:
    orders = services.list_orders(
        session, principal, status=status, platform=platform, limit=limit, offset=offset
    )
    return {"orders": [shapes.order_dict(o) for o in orders], "limit": limit, "offset": offset}


@router.get("/orders/{order_id}", response_model=OrderOut, response_model_exclude_unset=True)
def get_order(order_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    return services.order_detail(session, principal, order_id)


@router.get(
    "/orders/{order_id}/deliveries", response_model=DeliveryList, response_model_exclude_unset=True
)
def order_deliveries(
    order_id: str, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    order = services.get_order(session, principal, order_id)
    return {"deliveries": delivery.delivery_log(session, order.id, principal)}


@router.get(
    "/orders/{order_id}/matches",
    response_model=OrderMatchesOut,
    response_model_exclude_unset=True,
)
def order_matches(
    order_id: str, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """The order's evidence in the hash banks: the signals banked from it, the copies of it
    that lookups found, and the orders whose evidence matched it. The regulator sees every
    find; the platform its own, and of others' only how many (``tangkal.hashing.order_copies``
    says why)."""
    order = services.get_order(session, principal, order_id)
    related = services.related_orders(session, principal, order)
    found = order_copies.for_order(session, principal, order, related)
    return {"order_id": order.id, **found.as_dict()}


@router.post("/orders/{order_id}/ack", response_model=OrderOut, response_model_exclude_unset=True)
def acknowledge(order_id: str, principal: CurrentPrincipal, session: UnitOfWork) -> dict[str, Any]:
    return shapes.order_dict(services.acknowledge(session, principal, order_id))


@router.post(
    "/orders/{order_id}/clarification", response_model=OrderOut, response_model_exclude_unset=True
)
def ask_clarification(
    order_id: str, body: ClarificationIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """The platform asks; the clock pauses until the regulator answers."""
    return shapes.order_dict(
        services.request_clarification(session, principal, order_id, body.question)
    )


@router.post(
    "/orders/{order_id}/clarification/answer",
    response_model=OrderOut,
    response_model_exclude_unset=True,
)
def answer_clarification(
    order_id: str, body: ClarificationAnswerIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    return shapes.order_dict(
        services.answer_clarification(session, principal, order_id, body.answer)
    )


@router.post(
    "/orders/{order_id}/response",
    response_model=OrderOut,  # documentation: the route answers a JSONResponse (replays)
)
def respond(
    order_id: str,
    body: ResponseIn,
    principal: CurrentPrincipal,
    session: UnitOfWork,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    """The platform's answer and statement of reasons; safe to retry with Idempotency-Key."""

    def _do() -> dict[str, Any]:
        return shapes.order_dict(services.respond(session, principal, order_id, body))

    status, out, replayed = run_once(
        session,
        principal,
        idempotency_key,
        f"orders.response:{order_id}",
        body.model_dump(mode="json"),
        _do,
    )
    return JSONResponse(
        out, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None
    )


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=limits.WITHDRAW_REASON)


@router.post(
    "/orders/{order_id}/withdraw", response_model=OrderOut, response_model_exclude_unset=True
)
def withdraw(
    order_id: str, body: WithdrawIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    return shapes.order_dict(services.withdraw(session, principal, order_id, body.reason))


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str = Field(min_length=1, max_length=10, description="the code of the next step")
    reason: str = Field(min_length=1, max_length=5000)


@router.post(
    "/orders/{order_id}/escalate", response_model=OrderOut, response_model_exclude_unset=True
)
def escalate(
    order_id: str, body: EscalateIn, principal: CurrentPrincipal, session: UnitOfWork
) -> dict[str, Any]:
    """An official takes the order's next escalation step now, before it is due."""
    from tangkal.orders.escalation import take_now

    return shapes.order_dict(take_now(session, principal, order_id, body.step, body.reason))


@router.post(
    "/orders/{order_id}/evidence",
    status_code=201,
    response_model=EvidenceOut,
    response_model_exclude_unset=True,
)
async def upload_evidence(
    order_id: str, principal: CurrentPrincipal, session: UnitOfWork, file: UploadFile = File(...)
) -> dict[str, Any]:
    principal.require(Role.ANALYST, Role.OFFICIAL)
    limit = get_settings().max_evidence_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"The file is larger than the limit of {limit} bytes.", field="file")
    order = services.get_order(session, principal, order_id)
    ev = services.add_evidence(
        session,
        principal,
        order,
        file.filename or "evidence",
        file.content_type or "application/octet-stream",
        content,
    )
    return {
        "id": ev.id,
        "filename": ev.filename,
        "size": ev.size,
        "sha256": ev.sha256,
        "md5": ev.md5,
    }


@router.get("/inbox", response_model=Inbox, response_model_exclude_unset=True)
def inbox(
    principal: CurrentPrincipal, session: UnitOfWork, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    """The pull channel. Fetching is the platform's authenticated receipt of each order; an
    ISP finds here what the regulator sends it (names still not compliant at its resolvers
    after the SOP's grace)."""
    principal.require_kind(OrgKind.PLATFORM, OrgKind.ISP)
    msgs = delivery.fetch_inbox(session, principal, limit)
    return {
        "messages": [
            {
                "id": m.id,
                "event": m.event,
                "order_id": m.order_id,
                "created_at": m.created_at.isoformat(),
                **m.payload,
            }
            for m in msgs
        ]
    }


@router.get("/sop", response_model=SopOut, response_model_exclude_unset=True)
def sop(principal: CurrentPrincipal) -> dict[str, Any]:
    return active_profile().describe()
