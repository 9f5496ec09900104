"""HTTP order intake, group-committed.

``POST /api/v1/orders`` checks and shapes each order on the event loop
(:func:`~tangkal.orders.filing.prepare_order`), then hands it to the process's one
:class:`~tangkal.db.groupcommit.GroupCommitter`, whose writer thread commits every order
that is waiting in one transaction and answers each request only after that commit.

What still needs the database is decided here, per order, inside the transaction that
writes it: that the caller's token is still live (so revoking a token stops it at once,
although the token check on the request path used only the in-memory cache), that the
platform exists, and whether the ``Idempotency-Key`` was seen before. Refusals become that
order's answer; the other orders of the batch are written regardless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import BAD_TOKEN, live_token_ids
from tangkal.db.groupcommit import GroupCommitter
from tangkal.db.session import Database
from tangkal.errors import Conflict, Unauthenticated
from tangkal.orders import idempotency
from tangkal.orders.filing import NewOrder, is_platform, unknown_platform, write_orders
from tangkal.orders.idempotency import IdemKey
from tangkal.orders.services import find_platforms, related_for
from tangkal.orders.shapes import RelatedOrder, order_dict


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    principal: Principal
    order: NewOrder
    idem: IdemKey | None = None


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


class SameKeyTwice(Exception):
    """Not an error of anyone's: the signal to write this batch one request at a time."""


def file_batch(
    session: Session, requests: Sequence[IntakeRequest]
) -> list[IntakeAnswer | BaseException]:
    """The group commit's work: write every acceptable order of the batch, answer each."""
    answers: list[IntakeAnswer | BaseException | None] = [None] * len(requests)
    live = live_token_ids(session, {r.principal.token_id for r in requests if r.principal.token_id})
    platforms = find_platforms(session, {r.order.platform for r in requests})
    stored = idempotency.find(session, [r.idem for r in requests if r.idem])
    claimed: dict[tuple[str, str], int] = {}  # keys first used within this batch
    todo: list[tuple[int, Principal, NewOrder, Organization]] = []
    for i, r in enumerate(requests):
        if r.principal.token_id is not None and r.principal.token_id not in live:
            answers[i] = Unauthenticated(BAD_TOKEN)
            continue
        if r.idem is not None:
            at = (r.idem.org_id, r.idem.key)
            if at in stored:
                try:
                    status, body = r.idem.replay(stored[at])
                    answers[i] = IntakeAnswer(status, body, replayed=True)
                except Conflict as exc:  # the key was used for another request
                    answers[i] = exc
                continue
            if at in claimed:
                # The same key twice in one batch (a client retrying while its first try
                # is still waiting): the group commit then writes each request alone, in
                # order, so the second finds the first's answer stored and replays it.
                raise SameKeyTwice(r.idem.key)
            claimed[at] = i
        org = platforms.get(r.order.platform)
        if org is None or not is_platform(org):
            answers[i] = unknown_platform(r.order.platform)
            continue
        todo.append((i, r.principal, r.order.for_platform(org.id), org))
    write_orders(session, [(p, o, org) for _, p, o, org in todo])
    related = _related(session, todo)
    rows = []
    for i, _, order, org in todo:
        body = order_dict(order, related=related[order.id], platform_name=org.name)
        answers[i] = IntakeAnswer(201, body)
        idem = requests[i].idem
        if idem is not None:
            rows.append(idem.row(201, body))
    idempotency.store(session, rows)
    done = [a for a in answers if a is not None]
    assert len(done) == len(requests)  # every path above answers or raises
    return done


# The answer to a new order names its ten newest related orders: enough to see at once that
# an item was ordered before and what came of it; ``GET /api/v1/orders/{id}`` shows up to
# fifty. Each one more costs every order of the batch an index lookup per shared key.
RELATED_IN_ANSWER = 10


def _related(
    session: Session, todo: list[tuple[int, Principal, NewOrder, Organization]]
) -> dict[str, list[RelatedOrder]]:
    """Earlier (and concurrent) orders about the same items, grouped by the caller's scope."""
    out: dict[str, list[RelatedOrder]] = {}
    by_scope: dict[tuple[str, str], list[tuple[Principal, NewOrder]]] = {}
    for _, principal, order, _ in todo:
        by_scope.setdefault((principal.org_kind.value, principal.org_id), []).append(
            (principal, order)
        )
    for group in by_scope.values():
        principal = group[0][0]
        out.update(
            related_for(
                session,
                principal,
                [
                    (o.id, [k for k, _ in o.keys], {loc.canonical for loc in o.locators})
                    for _, o in group
                ],
                limit=RELATED_IN_ANSWER,
            )
        )
    return out


def create_committer(db: Database) -> GroupCommitter[IntakeRequest, IntakeAnswer]:
    return GroupCommitter(db, file_batch, name="order-intake")
