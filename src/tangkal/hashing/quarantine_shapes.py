"""How a content held by the quarantine rule is shown: in the owner's queue and beside the
matches of a lookup that found it (as held, never as a match)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HeldOut(BaseModel):
    bank: str
    content_id: int
    signal_type: str
    signal: str
    label: str | None = None
    held_at: str = Field(description="When the rule held it (ISO 8601, UTC).")
    recent: float = Field(description="Its matches in the last window when it was held.")
    baseline: float = Field(description="Its usual matches per window then.")
    limit: float = Field(description="max(min_matches, factor x baseline) then.")
    reason: str
    recent_now: int | None = Field(
        default=None, description="Its matches in the last window now (lookups it was held from)."
    )
