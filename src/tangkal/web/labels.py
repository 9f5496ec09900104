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
from tangkal.delivery.models import DeliveryStatus
from tangkal.hashing.models import BankKind
from tangkal.orders.models import OrderStatus, ResponseAction


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
    "delivery.attempt": N_("Delivery attempt"),
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
}

#: The tables by the names the templates use (``label("status", s)``).
TABLES: Mapping[str, Mapping[str, str]] = {
    "status": STATUS, "action": ACTION, "role": ROLE, "org_kind": ORG_KIND,
    "bank_kind": BANK_KIND, "delivery_status": DELIVERY_STATUS, "event": EVENT,
}
