"""Durations written as the profiles write them (``"4h"``, ``"1h30m"``, ``"14.4s"``).

Its own module because both the profiles (which parse and print them) and the messages of
the domain (:class:`tangkal.errors.Msg`, whose English text names a duration the way the
profile the person wrote does) need it, and the profiles depend on the errors.
"""

from __future__ import annotations

from datetime import timedelta


def format_duration(td: timedelta) -> str:
    """The shortest exact text for a duration (``"4h"``, ``"1h30m"``, ``"14.4s"``)."""
    micro = round(td.total_seconds() * 1_000_000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        step = size * 1_000_000
        if micro >= step:
            parts.append(f"{micro // step}{unit}")
            micro %= step
    if micro:
        sec = f"{micro / 1_000_000:.6f}".rstrip("0").rstrip(".")
        parts.append(f"{sec}s")
    return "".join(parts) or "0s"
