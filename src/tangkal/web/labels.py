"""The words the pages use for the domain's enum values: statuses, actions, roles, kinds,
and for the events on an order's record.

One table per family, keyed by the API value, holding the untranslated catalogue message.
The status badges and choice lists of the templates (``macros.html``) and the parameters of
domain messages (``Formatter.term``, for a :class:`tangkal.errors.Msg` such as "Order X is
%(status)s") read the same table, so a refusal names a status exactly as the badge beside it
does, and a value gains its Indonesian word in one place.

Order and block statuses share a table (the pages show both with one ``badge`` macro, and
the values that occur in both mean the same), as do block actions and platform answers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from tangkal.accounts.models import OrgKind, Role
from tangkal.blocklist.models import BlockAction, BlockStatus
from tangkal.compliance.models import ProbeState
from tangkal.delivery.models import DeliveryStatus
from tangkal.hashing.models import BankKind
from tangkal.locators.model import LocatorKind
from tangkal.normalisation.models import NormalisationStatus
from tangkal.objections.models import ObjectionStatus, SubjectKind
from tangkal.orders.models import OrderStatus, ReceiptBasis, ResponseAction
from tangkal.sanctions.models import SanctionStatus


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


STATUS: Mapping[str, str] = {
    "issued": N_("Issued"),
    "delivered": N_("Delivered"),
    "acknowledged": N_("Acknowledged"),
    "clarification_requested": N_("Clarification requested"),
    "complied": N_("Complied"),
    "partially_complied": N_("Partially complied"),
    "disputed": N_("Disputed"),
    "overdue": N_("Overdue"),
    "withdrawn": N_("Withdrawn"),
    "pending_approval": N_("Pending approval"),
    "scheduled": N_("Scheduled"),
    "active": N_("Active"),
    "restored": N_("Restored"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
}

#: A sanction's life (``tangkal.sanctions.models.SanctionStatus``).
SANCTION_STATUS: Mapping[str, str] = {
    "pending_approval": N_("Pending approval"),
    "active": N_("In force"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "lifted": N_("Lifted"),
}

#: An objection (sanggah) and its decision (``ObjectionStatus``).
OBJECTION_STATUS: Mapping[str, str] = {
    "pending": N_("Awaiting decision"),
    "upheld": N_("Upheld"),
    "rejected": N_("Rejected"),
}

#: A request to restore access (``NormalisationStatus``).
NORMALISATION_STATUS: Mapping[str, str] = {
    "pending": N_("Awaiting decision"),
    "approved": N_("Approved"),
    "refused": N_("Refused"),
}

#: What an objection contests (``tangkal.objections.models.SubjectKind``), inside sentences.
SUBJECT_KIND: Mapping[str, str] = {
    "order": N_("order"),
    "warning": N_("warning letter"),
    "fine": N_("fine"),
    "sanction": N_("sanction"),
    "block": N_("block"),
}

#: The kinds of escalation step (``tangkal.sop.steps.STEP_KINDS``).
STEP_KIND: Mapping[str, str] = {
    "warning_letter": N_("Warning letter"),
    "fine": N_("Fine"),
    "report": N_("Report of non-compliance"),
    "sanction_proposal": N_("Sanction proposed"),
}

#: The kinds of event in a platform's case file (``tangkal.cases.services.KINDS``).
CASE_KIND: Mapping[str, str] = {
    "order": N_("Orders"),
    "warning": N_("Warning letters"),
    "fine": N_("Fines"),
    "report": N_("Reports of non-compliance"),
    "objection": N_("Objections"),
    "sanction": N_("Sanctions"),
    "block": N_("Blocks"),
    "normalisation": N_("Normalisation requests"),
    "restoration": N_("Restorations of access"),
    "compliance": N_("ISPs not following a decision"),
}

#: Where a normalisation request came from (``Normalisation.source``).
NORMALISATION_SOURCE: Mapping[str, str] = {
    "platform": N_("the platform"),
    "public": N_("the domain's owner (public form)"),
}

#: Who proposed a sanction (``Sanction.source``).
SANCTION_SOURCE: Mapping[str, str] = {
    "official": N_("an official"),
    "escalation": N_("the escalation, after the last warning letter"),
}

ACTION: Mapping[str, str] = {
    "nxdomain": N_("No such domain (NXDOMAIN)"),
    "nodata": N_("No data (NODATA)"),
    "landing": N_("Redirected to the block notice page (laman labuh)"),
    "passthru": N_("Explicitly allowed"),
    "removed": N_("Content removed"),
    "restricted_in_country": N_("Restricted in the country"),
    "account_suspended": N_("Account suspended"),
    "partially_done": N_("Partially done"),
    "not_done": N_("Not done (objection)"),
}

ROLE: Mapping[str, str] = {
    "analyst": N_("Analyst"),
    "official": N_("Official"),
    "moderator": N_("Moderator"),
    "isp": N_("ISP operator"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}

ORG_KIND: Mapping[str, str] = {
    "regulator": N_("regulator"),
    "platform": N_("platform"),
    "isp": N_("ISP"),
}

BANK_KIND: Mapping[str, str] = {
    "own": N_("own"),
    "imported": N_("imported"),
    "order": N_("order evidence"),
}

#: Where a message to a platform stands (``tangkal.delivery.models.DeliveryStatus``), as the
#: order page's delivery log shows it.
DELIVERY_STATUS: Mapping[str, str] = {
    "pending": N_("Waiting to be sent"),
    "delivered": N_("Delivered"),
    "inbox": N_("Waiting in the platform's inbox"),
    "fetched": N_("Fetched by the platform"),
}

#: What sort of thing an order's item names (``tangkal.locators.model.LocatorKind``).
LOCATOR_KIND: Mapping[str, str] = {
    "domain": N_("Domain name"),
    "url": N_("Web address (URL)"),
    "telegram_channel": N_("Telegram channel"),
    "telegram_post": N_("Telegram post"),
    "telegram_invite": N_("Telegram invitation link"),
    "telegram_private_post": N_("Telegram post in a private channel"),
}

#: How an order's deadline clock was started (``tangkal.orders.models.ReceiptBasis``):
#: the platform's first authenticated sign of receipt, or receipt deemed by the SOP.
RECEIPT_BASIS: Mapping[str, str] = {
    "webhook": N_("delivered to the platform's webhook"),
    "inbox": N_("fetched from the platform's inbox"),
    "acknowledged": N_("acknowledged by the platform"),
    "clarification_requested": N_("the platform asked for clarification"),
    "responded": N_("the platform responded"),
    "deemed": N_("deemed received under the SOP"),
}

#: The events on an order's record (the audit actions of its timeline) and the messages
#: sent to the platform about it (the outbox event of its delivery log; the same names).
EVENT: Mapping[str, str] = {
    "order.issued": N_("Order issued"),
    "order.received": N_("Receipt recorded (deadline clock started)"),
    "order.acknowledged": N_("Platform acknowledged receipt"),
    "order.clarification_requested": N_("Platform asked for clarification (clock paused)"),
    "order.clarification_answered": N_("Clarification answered (clock resumed)"),
    "order.responded": N_("Platform responded"),
    "order.overdue": N_("Deadline missed"),
    "order.warning_issued": N_("Warning letter issued"),
    "order.withdrawn": N_("Order withdrawn"),
    "order.evidence_added": N_("Evidence attached"),
    "order.evidence_banked": N_("Evidence put into a hash bank"),
    "order.copy_matched": N_("Copy of the evidence found (hash match)"),
    "order.fine_imposed": N_("Fine imposed"),
    "order.noncompliance_reported": N_("Non-compliance reported"),
    "order.sanction_proposed": N_("Sanction proposed (access blocking)"),
    "order.sanction_not_proposed": N_("No sanction proposed: nothing left to block"),
    "order.warning_annulled": N_("Warning letter annulled (objection upheld)"),
    "order.fine_annulled": N_("Fine annulled (objection upheld)"),
    "order.objection_rejected": N_("Objection rejected; escalation resumed"),
    "order.step_taken_early": N_("Escalation step taken early by an official"),
    "delivery.attempt": N_("Delivery attempt"),
    "sanction.proposed": N_("Sanction proposed"),
    "sanction.order_added": N_("Order added to the sanction"),
    "sanction.approved": N_("Sanction approved by an official"),
    "sanction.active": N_("Sanction in force"),
    "sanction.rejected": N_("Sanction rejected"),
    "sanction.withdrawn": N_("Sanction withdrawn"),
    "sanction.lifted": N_("Sanction lifted (access restored)"),
    "objection.filed": N_("Objection filed"),
    "objection.decided": N_("Objection decided"),
    "objection.decision_due": N_("Objection decision due soon"),
    "normalisation.requested": N_("Normalisation requested"),
    "normalisation.approved": N_("Normalisation approved"),
    "normalisation.refused": N_("Normalisation refused"),
    "normalisation.decision_due": N_("Normalisation decision due soon"),
    "block.created": N_("Block requested"),
    "block.approved": N_("Block approved"),
    "block.rejected": N_("Block rejected"),
    "block.activated": N_("Block took effect"),
    "block.restored": N_("Access restored (normalisasi)"),
    "block.expired": N_("Block expired"),
    "block.imported": N_("Block imported from a list"),
    "delivery.inbox_fetched": N_("Fetched by the platform"),
    "compliance.escalated": N_("ISP still not compliant after the grace (sent to the ISP)"),
    "compliance.resolver.add": N_("Resolver registered for probing"),
    "compliance.resolver.remove": N_("Resolver no longer probed"),
}

#: What a resolver was found doing for a name (``tangkal.compliance.models.ProbeState``).
PROBE_STATE: Mapping[str, str] = {
    "compliant": N_("Compliant"),
    "not_compliant": N_("Not compliant"),
    "unreachable": N_("Unreachable"),
}

#: What the decision expects a resolver to answer (a block's action, or open).
EXPECTED: Mapping[str, str] = {
    "nxdomain": N_("No such domain (NXDOMAIN)"),
    "nodata": N_("No data (NODATA)"),
    "landing": N_("Redirected to the block notice page (laman labuh)"),
    "open": N_("Open: answered as the control resolvers answer"),
}

#: Which decision an ISP did not follow in time (``tangkal.compliance.escalation.stage_of``).
COMPLIANCE_STAGE: Mapping[str, str] = {
    "block": N_("the block"),
    "restore": N_("the restoration of access"),
}

#: The table for each enum a domain message may carry as a parameter.
TERMS: Mapping[type[enum.Enum], Mapping[str, str]] = {
    OrderStatus: STATUS,
    BlockStatus: STATUS,
    ResponseAction: ACTION,
    BlockAction: ACTION,
    Role: ROLE,
    OrgKind: ORG_KIND,
    BankKind: BANK_KIND,
    DeliveryStatus: DELIVERY_STATUS,
    SanctionStatus: SANCTION_STATUS,
    ObjectionStatus: OBJECTION_STATUS,
    NormalisationStatus: NORMALISATION_STATUS,
    SubjectKind: SUBJECT_KIND,
    ProbeState: PROBE_STATE,
    LocatorKind: LOCATOR_KIND,
    ReceiptBasis: RECEIPT_BASIS,
}

#: The tables by the names the templates use (``label("status", s)``).
TABLES: Mapping[str, Mapping[str, str]] = {
    "status": STATUS,
    "action": ACTION,
    "role": ROLE,
    "org_kind": ORG_KIND,
    "bank_kind": BANK_KIND,
    "delivery_status": DELIVERY_STATUS,
    "event": EVENT,
    "sanction_status": SANCTION_STATUS,
    "objection_status": OBJECTION_STATUS,
    "normalisation_status": NORMALISATION_STATUS,
    "subject_kind": SUBJECT_KIND,
    "step_kind": STEP_KIND,
    "case_kind": CASE_KIND,
    "normalisation_source": NORMALISATION_SOURCE,
    "sanction_source": SANCTION_SOURCE,
    "probe_state": PROBE_STATE,
    "expected": EXPECTED,
    "compliance_stage": COMPLIANCE_STAGE,
    "locator_kind": LOCATOR_KIND,
    "receipt_basis": RECEIPT_BASIS,
}
