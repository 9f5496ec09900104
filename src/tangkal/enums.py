"""Reading an enum value typed by a person (CLI option, query parameter, JSON field)."""

from __future__ import annotations

import enum
from typing import TypeVar

from tangkal.errors import InvalidInput, Msg

E = TypeVar("E", bound=enum.Enum)


def parse_enum(cls: type[E], value: str | E, what: str | Msg, *, field: str | None = None) -> E:
    """``value`` as a member of ``cls``, case and surrounding space ignored; otherwise an
    InvalidInput that lists every accepted value, so the caller can correct it at once.
    ``what`` names the value in words (a :class:`Msg`, so pages show it translated)."""
    if isinstance(value, cls):
        return value
    try:
        return cls(str(value).strip().lower())
    except ValueError:
        known = ", ".join(str(m.value) for m in cls)
        raise InvalidInput(
            Msg(
                "Unknown %(what)s %(value)r; use one of: %(known)s.",
                what=what,
                value=value,
                known=known,
            ),
            field=field,
        ) from None
