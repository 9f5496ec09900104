"""What each person is offered on a sanction, an objection or a normalisation request is read
from its state (status, approvals by person), the same way on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.objections.models import Objection, ObjectionStatus
from tangkal.sanctions.models import Sanction, SanctionApproval, SanctionStatus
from tangkal.web import actions

NOW = datetime(2017, 7, 14, 7, 5, tzinfo=UTC)


def _person(kind: OrgKind, role: Role, user: str | None) -> Principal:
    return Principal(
        org_id=f"{kind.value}-1",
        org_name=kind.value,
        org_kind=kind,
        role=role,
        user_id=user,
        username=user,
    )


ALICE = _person(OrgKind.REGULATOR, Role.OFFICIAL, "alice")
BOB = _person(OrgKind.REGULATOR, Role.OFFICIAL, "bob")
ANALYST = _person(OrgKind.REGULATOR, Role.ANALYST, "ana")
MODERATOR = _person(OrgKind.PLATFORM, Role.MODERATOR, "mod")
TOKEN_OFFICIAL = _person(OrgKind.REGULATOR, Role.OFFICIAL, None)


def _sanction(status: SanctionStatus, approvers: list[str]) -> Sanction:
    return Sanction(
        status=status,
        officials_required=2,
        platform_org_id="platform-1",
        approvals=[
            SanctionApproval(
                approver_key=f"user:{a}", approved_by=f"kominfo/{a}(official)", approved_at=NOW
            )
            for a in approvers
        ],
    )


def test_an_official_who_approved_is_not_offered_approve_again_but_another_is() -> None:
    s = _sanction(SanctionStatus.PENDING_APPROVAL, ["alice"])
    mine = actions.sanction_actions(s, ALICE)
    assert mine.approved_by_me and not mine.can_approve and mine.can_reject
    assert (mine.given, mine.required, mine.missing) == (1, 2, 1)
    assert [a.mine for a in mine.approvals] == [True]
    other = actions.sanction_actions(s, BOB)
    assert other.can_approve and other.can_reject and not other.approved_by_me
    assert [a.mine for a in other.approvals] == [False]


def test_only_officials_of_the_regulator_named_as_people_approve_a_pending_sanction() -> None:
    s = _sanction(SanctionStatus.PENDING_APPROVAL, [])
    for who in (ANALYST, MODERATOR):
        acts = actions.sanction_actions(s, who)
        assert not acts.can_approve and not acts.can_reject
    token = actions.sanction_actions(s, TOKEN_OFFICIAL)
    assert not token.can_approve and token.can_reject and token.needs_person


def test_nothing_is_offered_once_a_sanction_is_decided() -> None:
    for status in (SanctionStatus.ACTIVE, SanctionStatus.REJECTED, SanctionStatus.LIFTED):
        acts = actions.sanction_actions(_sanction(status, ["alice", "bob"]), BOB)
        assert not acts.can_approve and not acts.can_reject


def test_the_platform_may_object_to_its_open_sanction_only() -> None:
    assert actions.can_object_to_sanction(_sanction(SanctionStatus.ACTIVE, []), MODERATOR)
    assert not actions.can_object_to_sanction(_sanction(SanctionStatus.LIFTED, []), MODERATOR)
    assert not actions.can_object_to_sanction(_sanction(SanctionStatus.ACTIVE, []), ALICE)


def test_objections_are_decided_by_officials_while_pending() -> None:
    pending = Objection(status=ObjectionStatus.PENDING)
    assert actions.objection_actions(pending, ALICE).can_decide
    assert not actions.objection_actions(pending, ANALYST).can_decide
    assert not actions.objection_actions(pending, MODERATOR).can_decide
    assert not actions.objection_actions(Objection(status=ObjectionStatus.UPHELD), ALICE).can_decide


def test_an_objectable_subject_closes_when_its_time_is_up_or_one_is_pending() -> None:
    week = timedelta(days=7)
    sub = actions.objectable("order", "o1", "ORD-1", NOW, week, {}, NOW + timedelta(days=1))
    assert sub.open and sub.until == NOW + week and sub.pending is None
    late = actions.objectable("order", "o1", "ORD-1", NOW, week, {}, NOW + timedelta(days=8))
    assert not late.open
    waiting = Objection(status=ObjectionStatus.PENDING)
    held = actions.objectable("order", "o1", "ORD-1", NOW, week, {("order", "o1"): waiting}, NOW)
    assert not held.open and held.pending is waiting


def test_a_restoration_needing_two_officials_is_not_offered_twice_to_the_first() -> None:
    row = Normalisation(
        status=NormalisationStatus.PENDING,
        needs_second_official=True,
        first_approver_key="user:alice",
    )
    first = actions.normalisation_actions(row, ALICE)
    assert first.gave_first and not first.can_approve and first.can_refuse
    assert first.awaiting_second
    second = actions.normalisation_actions(row, BOB)
    assert second.can_approve and second.can_refuse and not second.gave_first
    simple = Normalisation(status=NormalisationStatus.PENDING, needs_second_official=False)
    assert actions.normalisation_actions(simple, TOKEN_OFFICIAL).can_approve
    assert not actions.normalisation_actions(simple, MODERATOR).can_approve
    done = Normalisation(status=NormalisationStatus.APPROVED, needs_second_official=False)
    assert not actions.normalisation_actions(done, BOB).can_refuse


def _block(
    status: str, requested_by: str, first: str | None, sanction: str | None = None
) -> BlockEntry:
    return BlockEntry(
        status=BlockStatus(status),
        requested_by_key=f"user:{requested_by}",
        first_approver_key=f"user:{first}" if first else None,
        sanction_id=sanction,
    )


def test_a_block_offers_approve_to_neither_its_requester_nor_its_first_approver() -> None:
    waiting = _block("pending_approval", requested_by="ana", first="alice")
    mine = actions.block_actions(waiting, ALICE)
    assert not mine.can_approve and mine.can_reject and mine.approved_by_me
    theirs = actions.block_actions(waiting, BOB)
    assert theirs.can_approve and theirs.can_reject and not theirs.approved_by_me
    asked = actions.block_actions(_block("pending_approval", "bob", None), BOB)
    assert not asked.can_approve and asked.requested_by_me
    assert not actions.block_actions(waiting, ANALYST).can_approve
    assert not actions.block_actions(waiting, TOKEN_OFFICIAL).can_approve  # approvals count people
    done = actions.block_actions(_block("active", "ana", "alice"), BOB)
    assert not done.can_approve and not done.can_reject and not done.approved_by_me
    with_sanction = actions.block_actions(_block("pending_approval", "ana", None, "s-1"), BOB)
    assert not with_sanction.can_approve and not with_sanction.can_reject
    assert with_sanction.with_sanction
