"""The shapes of the RPZ API's answers (``/api/v1/rpz/...``), for ``/openapi.json``.

They describe what ``services`` builds (``SubscriberStatus.as_dict``, ``zone_status``);
the response-model test drives the routes and checks the JSON is unchanged through them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class GroupCreditOut(BaseModel):
    members: list[str] = Field(description="subscriber ids credited together")
    size: int
    serials: list[int | None] = Field(description="what the group's transfers showed")
    holding_current: int
    identified_by: str | None
    why: str


class SubscriberOut(BaseModel):
    id: str
    org: str
    notify: str = Field(description="HOST:PORT that gets NOTIFY")
    allow_ips: list[str]
    last_serial: int | None
    last_transfer_at: str | None
    last_transfer_kind: str | None = Field(description="axfr or ixfr")
    changesets_behind: int | None
    behind_since: str | None
    tsig_key: str | None
    transfer_from: str | None
    credit: str | None = Field(description="own, group, or null: never transferred")
    identified_by: str | None
    group: GroupCreditOut | None
    last_notify_ack_serial: int | None
    last_notify_ack_at: str | None


class SubscriberList(BaseModel):
    subscribers: list[SubscriberOut]


class ZoneStatus(BaseModel):
    zone: str
    serial: int = Field(description="the SOA serial served")
    changesets: int = Field(description="change sets committed since the zone began")
    names: int
    journal_from: str | None = Field(description="oldest change set an IXFR can start at")
    journal_changesets: int
