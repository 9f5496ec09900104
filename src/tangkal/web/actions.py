"""What a person may do next with a sanction, an objection or a normalisation request, read
from its state (status, approvals by person) and the person's organisation and role.

The services decide in the end (they check roles, tenancy and the two-person rule again);
these functions only decide which buttons a page offers, so that nobody is shown a door that
would answer 403, and every page and the queue offer the same ones. The templates read the
result and never work it out themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.blocklist.services import principal_key
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.objections.models import Objection, ObjectionStatus
from tangkal.sanctions.models import Sanction, SanctionStatus


def is_official(principal: Principal) -> bool:
    return principal.org_kind is OrgKind.REGULATOR and principal.role is Role.OFFICIAL


def is_moderator(principal: Principal) -> bool:
    """A platform's person who may object and ask for normalisation (as the services say)."""
    return principal.org_kind is OrgKind.PLATFORM and principal.role in (Role.MODERATOR, Role.ADMIN)


# ------------------------------------------------------------------ sanctions


@dataclass(frozen=True, slots=True)
class ApprovalView:
    by: str
    at: datetime
    mine: bool


@dataclass(frozen=True, slots=True)
class SanctionActions:
    """The approvals so far and what this person is offered."""

    approvals: tuple[ApprovalView, ...]
    required: int
    approved_by_me: bool
    can_approve: bool
    can_reject: bool
    #: a named person is needed (a console sign-in always is one; kept for completeness)
    needs_person: bool

    @property
    def given(self) -> int:
        return len(self.approvals)

    @property
    def missing(self) -> int:
        return max(0, self.required - self.given)


def sanction_actions(sanction: Sanction, principal: Principal) -> SanctionActions:
    key = principal_key(principal)
    pending = sanction.status is SanctionStatus.PENDING_APPROVAL
    official = is_official(principal)
    mine = any(a.approver_key == key for a in sanction.approvals)
    views = tuple(
        ApprovalView(a.approved_by, a.approved_at, a.approver_key == key)
        for a in sanction.approvals
    )
    return SanctionActions(
        approvals=views,
        required=sanction.officials_required,
        approved_by_me=mine,
        can_approve=official and pending and not mine and principal.user_id is not None,
        can_reject=official and pending,
        needs_person=official and pending and principal.user_id is None,
    )


def can_object_to_sanction(sanction: Sanction, principal: Principal) -> bool:
    return (
        is_moderator(principal)
        and sanction.platform_org_id == principal.org_id
        and sanction.status in (SanctionStatus.PENDING_APPROVAL, SanctionStatus.ACTIVE)
    )


# ------------------------------------------------------------------ objections


@dataclass(frozen=True, slots=True)
class ObjectionActions:
    can_decide: bool


def objection_actions(obj: Objection, principal: Principal) -> ObjectionActions:
    return ObjectionActions(
        can_decide=is_official(principal) and obj.status is ObjectionStatus.PENDING
    )


@dataclass(frozen=True, slots=True)
class Objectable:
    """Something the platform may object to, on the order or the sanction page."""

    kind: str  # order, warning, fine, sanction (``SubjectKind``)
    id: str
    label: str  # the order's reference, the step's code, the sanction's reference
    until: datetime  # objections may be filed until then (the profile's ``file_within``)
    open: bool  # still in time, and nothing pending about it
    pending: Objection | None  # the objection about it that waits for a decision


def objectable(
    kind: str,
    sid: str,
    label: str,
    since: datetime,
    file_within: timedelta,
    pending: dict[tuple[str, str], Objection],
    now: datetime,
) -> Objectable:
    until = since + file_within
    waiting = pending.get((kind, sid))
    return Objectable(kind, sid, label, until, waiting is None and now <= until, waiting)


# ------------------------------------------------------------------ normalisation


@dataclass(frozen=True, slots=True)
class NormalisationActions:
    can_approve: bool
    can_refuse: bool
    #: this person gave the first of two approvals: a different official gives the second
    gave_first: bool
    #: two officials are needed and one has approved already
    awaiting_second: bool


def normalisation_actions(row: Normalisation, principal: Principal) -> NormalisationActions:
    pending = row.status is NormalisationStatus.PENDING
    official = is_official(principal) and pending
    gave_first = bool(
        row.needs_second_official
        and row.first_approver_key is not None
        and row.first_approver_key == principal_key(principal)
    )
    return NormalisationActions(
        can_approve=official
        and not gave_first
        and (not row.needs_second_official or principal.user_id is not None),
        can_refuse=official,
        gave_first=gave_first,
        awaiting_second=pending
        and row.needs_second_official
        and row.first_approver_key is not None,
    )


# ------------------------------------------------------------------ blocks


@dataclass(frozen=True, slots=True)
class BlockActions:
    """What an official is offered on a block waiting for approval, by the rule of
    ``blocklist.services.approve``: the requester never approves their own request, and
    the second approval of a flagged block comes from a different official than the
    first."""

    can_approve: bool
    can_reject: bool
    #: this person requested the block: another official approves it
    requested_by_me: bool
    #: this person gave the first of two approvals: a different official gives the second
    approved_by_me: bool
    #: a sanction's block is approved and rejected with its sanction, never on its own
    with_sanction: bool


def block_actions(entry: BlockEntry, principal: Principal) -> BlockActions:
    key = principal_key(principal)
    pending = entry.status is BlockStatus.PENDING_APPROVAL
    official = is_official(principal) and pending and entry.sanction_id is None
    requested = entry.requested_by_key == key
    approved = entry.first_approver_key == key
    return BlockActions(
        can_approve=official and principal.user_id is not None and not requested and not approved,
        can_reject=official,
        requested_by_me=pending and requested,
        approved_by_me=pending and approved,
        with_sanction=entry.sanction_id is not None,
    )


# ------------------------------------------------------------------ compliance


def may_manage_resolvers(principal: Principal) -> bool:
    """Who may register and remove resolvers to probe (``compliance.services._may_manage``):
    the regulator's officials and admins (any ISP's, and the controls), an ISP's operators
    and admins (their own)."""
    if principal.org_kind is OrgKind.REGULATOR:
        return principal.role in (Role.OFFICIAL, Role.ADMIN)
    if principal.org_kind is OrgKind.ISP:
        return principal.role in (Role.ISP, Role.ADMIN)
    return False
