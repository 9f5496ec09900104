"""The one seam between the blocklist and the RPZ.

Every transition that changes what resolvers should answer goes through :func:`publish`, in
the caller's transaction: the block entry and the zone commit together or not at all, so a
block can never be "decided but not in the zone" or "in the zone but restored".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from tangkal.blocklist.models import BlockAction


def publish(
    session: Session,
    changes: Iterable[tuple[str, BlockAction | None] | tuple[str, BlockAction | None, str | None]],
    *,
    reason: str | None = None,
) -> int | None:
    """Apply ``(name, action)`` pairs (``None`` removes the name) to the zone, or
    ``(name, action, landing)`` for a landing block with a landing of its own (its text);
    returns the new serial, or None when there was nothing to change."""
    # Imported here so that the blocklist's models and migrations never depend on DNS code.
    from tangkal.rpz.journal import RpzAction, ZoneChange
    from tangkal.rpz.journal import publish as rpz_publish
    from tangkal.rpz.values import stored_landing

    zone_changes: Sequence[ZoneChange] = [
        ZoneChange(
            c[0],
            None if c[1] is None else RpzAction(c[1].value),
            stored_landing(c[2]) if len(c) > 2 and c[1] is not None else None,
        )
        for c in changes
    ]
    if not zone_changes:
        return None
    return rpz_publish(session, zone_changes, reason=reason)
