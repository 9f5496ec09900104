"""Loading and validating SOP profiles.

A profile is a TOML file. The shipped ones live beside this module (``indonesia``, ``eu-tco``,
``netzdg``); an operator may point ``TANGKAL_SOP_PROFILE`` at a file of their own. Every
profile is validated completely when loaded, so a typo fails at start-up, not when the first
order of a rare category arrives. Durations may be as short as seconds, so a whole
escalation can be watched in real time in a demo or a test.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from tangkal.errors import ConfigurationError, InvalidInput, Msg

PROFILE_DIR = Path(__file__).parent / "profiles"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | int | float) -> timedelta:
    """``"4h"``, ``"1h30m"``, ``"2d"``, ``"45s"`` or a number of seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        s = text.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for m in _DURATION.finditer(s):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
            pos = m.end()
        if pos != len(s) or not s:
            raise ConfigurationError(f"Cannot read the duration {text!r}; write e.g. 4h, 30m, 2d.")
    if seconds <= 0:
        raise ConfigurationError(f"A duration must be positive, not {text!r}.")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    s = int(td.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class Category:
    key: str
    label_en: str
    label_id: str
    urgency: str
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Warning:
    code: str  # ST1, ST2, ST3
    label_en: str
    label_id: str
    fine: int = 0  # in the profile's currency


@dataclass(frozen=True, slots=True)
class SopProfile:
    name: str
    title: str
    jurisdiction: str
    currency: str
    deadlines: dict[str, timedelta]
    categories: dict[str, Category]
    deemed_receipt_after: timedelta
    warning_interval: timedelta | None
    warnings: tuple[Warning, ...]
    block_after_warnings: bool
    normalisation_decision: timedelta
    normalisation_max_blocks: int
    second_approval_for: tuple[str, ...]
    source: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def category(self, key: str) -> Category:
        try:
            return self.categories[key]
        except KeyError:
            known = ", ".join(sorted(self.categories))
            raise InvalidInput(
                Msg("Unknown category %(key)r under the %(profile)s profile; use one of: "
                    "%(known)s.", key=key, profile=self.name, known=known),
                field="category",
            ) from None

    def urgency_for(self, category: str, requested: str | None = None) -> str:
        urgency = requested or self.category(category).urgency
        if urgency not in self.deadlines:
            known = ", ".join(sorted(self.deadlines))
            raise InvalidInput(
                Msg("Unknown urgency %(urgency)r; use one of: %(known)s.", urgency=urgency,
                    known=known), field="urgency"
            )
        return urgency

    def deadline(self, urgency: str) -> timedelta:
        return self.deadlines[urgency]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "jurisdiction": self.jurisdiction,
            "deadlines": {k: format_duration(v) for k, v in self.deadlines.items()},
            "deemed_receipt_after": format_duration(self.deemed_receipt_after),
            "warnings": [
                {"code": w.code, "label_en": w.label_en, "label_id": w.label_id, "fine": w.fine}
                for w in self.warnings
            ],
            "warning_interval": (
                format_duration(self.warning_interval) if self.warning_interval else None
            ),
            "block_after_warnings": self.block_after_warnings,
            "normalisation": {
                "decide_within": format_duration(self.normalisation_decision),
                "max_blocks": self.normalisation_max_blocks,
            },
            "second_approval_for": list(self.second_approval_for),
            "categories": {
                k: {
                    "label_en": c.label_en,
                    "label_id": c.label_id,
                    "urgency": c.urgency,
                    "legal_basis": c.legal_basis,
                }
                for k, c in self.categories.items()
            },
            "source": self.source,
        }


def _need(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigurationError(f"SOP profile {where}: missing '{key}'.")
    return data[key]


def parse_profile(data: dict[str, Any], source: str) -> SopProfile:
    name = str(_need(data, "name", source))
    where = f"{name} ({source})"
    deadlines = {k: parse_duration(v) for k, v in dict(_need(data, "deadlines", where)).items()}
    if not deadlines:
        raise ConfigurationError(f"SOP profile {where}: 'deadlines' is empty.")
    cats: dict[str, Category] = {}
    for key, c in dict(_need(data, "categories", where)).items():
        urgency = str(_need(c, "urgency", f"{where} category {key}"))
        if urgency not in deadlines:
            raise ConfigurationError(
                f"SOP profile {where}: category {key} has urgency {urgency!r}, "
                f"which has no deadline (have: {', '.join(deadlines)})."
            )
        cats[key] = Category(
            key=key,
            label_en=str(c.get("label_en", key)),
            label_id=str(c.get("label_id", c.get("label_en", key))),
            urgency=urgency,
            legal_basis=str(_need(c, "legal_basis", f"{where} category {key}")),
        )
    if not cats:
        raise ConfigurationError(f"SOP profile {where}: no categories.")
    esc = dict(data.get("escalation", {}))
    warnings = tuple(
        Warning(
            code=str(_need(w, "code", where)),
            label_en=str(w.get("label_en", w["code"])),
            label_id=str(w.get("label_id", w["code"])),
            fine=int(w.get("fine", 0)),
        )
        for w in esc.get("warnings", [])
    )
    interval = esc.get("interval")
    norm = dict(data.get("normalisation", {}))
    return SopProfile(
        name=name,
        title=str(data.get("title", name)),
        jurisdiction=str(data.get("jurisdiction", "")),
        currency=str(data.get("currency", "")),
        deadlines=deadlines,
        categories=cats,
        deemed_receipt_after=parse_duration(data.get("deemed_receipt_after", "24h")),
        warning_interval=parse_duration(interval) if interval else None,
        warnings=warnings,
        block_after_warnings=bool(esc.get("block_after_warnings", False)),
        normalisation_decision=parse_duration(norm.get("decide_within", "48h")),
        normalisation_max_blocks=int(norm.get("max_blocks", 3)),
        second_approval_for=tuple(data.get("approvals", {}).get("second_official_for", [])),
        source=source,
        raw=data,
    )


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


@lru_cache(maxsize=16)
def load_profile(name_or_path: str) -> SopProfile:
    """A shipped profile by name, or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigurationError(
                f"No SOP profile named {name_or_path!r}; shipped: {', '.join(shipped_profiles())}"
                " (or give a path to a .toml file)."
            )
    if not path.exists():
        raise ConfigurationError(f"SOP profile file {path} does not exist.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"SOP profile {path} is not valid TOML: {exc}") from None
    profile = parse_profile(data, str(path))
    _LOADED[profile.name] = profile
    return profile


_LOADED: dict[str, SopProfile] = {}


def get_profile(name: str) -> SopProfile:
    """The profile an order was filed under, by the name stored on the order.

    A profile loaded from a file is known by its name once loaded; the one in force is
    always known, so a server run with a custom file resolves its own orders.
    """
    if name in _LOADED:
        return _LOADED[name]
    active = active_profile()
    if active.name == name:
        return active
    return load_profile(name)


def active_profile() -> SopProfile:
    from tangkal.settings import get_settings

    return load_profile(get_settings().sop_profile)
