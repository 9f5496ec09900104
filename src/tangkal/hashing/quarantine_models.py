"""A banked content's match rate and its hold: one row per content that has matched.

One row, not one per match: counting a match is ``current = current + 1`` on it (see
:mod:`tangkal.hashing.match_rate` for what the numbers mean), and the hold lives on the same
row so the statement that counts also tells whether the content is held. No foreign key to
``hash_bank_content``: that table is rebuilt by batch migrations on SQLite, where a cascade
would drop every hold; a row whose content is gone (or whose id SQLite gave to new content)
is told apart by ``signal_digest`` and ignored or reset.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tangkal.db.base import Base, UTCDateTime
from tangkal.hashing.models import BigId


class MatchRate(Base):
    __tablename__ = "hash_match_rates"

    content_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    bank_id: Mapped[str] = mapped_column(String(36), index=True)
    signal_digest: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current: Mapped[int] = mapped_column(Integer, default=0)
    previous: Mapped[int] = mapped_column(Integer, default=0)
    baseline_sum: Mapped[float] = mapped_column(Float, default=0.0)
    baseline_weight: Mapped[float] = mapped_column(Float, default=0.0)
    # the hold: set when the rule held the content, cleared by its owner's release
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
    held_recent: Mapped[float | None] = mapped_column(Float, default=None)
    held_baseline: Mapped[float | None] = mapped_column(Float, default=None)
    held_limit: Mapped[float | None] = mapped_column(Float, default=None)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    released_by: Mapped[str | None] = mapped_column(String(300), default=None)
