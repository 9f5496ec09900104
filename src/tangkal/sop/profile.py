"""SOP profiles: the procedure as strict, typed data.

A profile is a TOML file. The shipped ones live beside this module (``indonesia``, ``eu-tco``,
``netzdg``); an operator may point ``TANGKAL_SOP_PROFILE`` at a file of their own, or derive a
drill profile with ``tangkal sop derive NAME --speed N``. Every profile is parsed completely
into the models below when loaded: an unknown key, a wrong type, a negative amount, an
unknown step kind or approval rule is refused with the file, the key, the line and the
reason, so a typo stops ``tangkal serve`` at start-up instead of surfacing as a 500 when the
first order of a rare category falls due. Durations may be as short as fractions of a
second, so a whole escalation can be watched in real time.

The escalation is an ordered list of steps, each of a kind from the checked registry in
:mod:`tangkal.sop.steps`. A step's wait is counted per deadline class: ``"interval"`` means
one deadline of the order's own class, so under Indonesia's practice an urgent order's
letters come four hours apart and a normal one's a day apart.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import zoneinfo
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from tangkal.durations import format_duration
from tangkal.errors import ConfigurationError, InvalidInput, Msg

PROFILE_DIR = Path(__file__).parent / "profiles"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")


def parse_duration(text: str | int | float) -> timedelta:
    """``"4h"``, ``"1h30m"``, ``"2d"``, ``"0.5s"`` or a number of seconds."""
    if isinstance(text, bool):
        raise ConfigurationError(f"A duration is text such as 4h or 30m, not {text!r}.")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        s = text.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for m in _DURATION.finditer(s):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
            pos = m.end()
        if pos != len(s) or not s:
            raise ConfigurationError(f"Cannot read the duration {text!r}; write e.g. 4h, 30m, 2d.")
    else:
        raise ConfigurationError(f"A duration is text such as 4h or 30m, not {text!r}.")
    if seconds <= 0 or not math.isfinite(seconds):
        raise ConfigurationError(f"A duration must be positive, not {text!r}.")
    return timedelta(seconds=seconds)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


class Strict(BaseModel):
    """Every profile table refuses keys it does not know and is immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Text = Annotated[str, Field(min_length=1, max_length=500)]
Amount = Annotated[int, Field(ge=0)]


class Category(Strict):
    key: str = ""
    label_en: Text
    label_id: Text
    urgency: str
    legal_basis: Text


class Fine(Strict):
    """How a step's fine is computed: fixed, per day late (started days count), or per
    reported item, optionally capped."""

    rule: Literal["fixed", "per_day_late", "per_item"] = "fixed"
    amount: Amount
    cap: Amount | None = None
    # per_day_late: the length of a "day" (a drill profile shortens it with the rest)
    day: Duration = timedelta(days=1)

    def compute(self, *, late: timedelta, items: int) -> int:
        if self.rule == "fixed":
            total = self.amount
        elif self.rule == "per_day_late":
            total = self.amount * max(1, math.ceil(late / self.day))
        else:
            total = self.amount * max(1, items)
        return min(total, self.cap) if self.cap is not None else total


def _wait(value: Any) -> Any:
    """``"interval"``, a duration (zero allowed: "at once"), or durations per class."""
    if value == "interval" or isinstance(value, timedelta):
        return value
    if isinstance(value, dict):
        return {str(k): _wait_one(v) for k, v in value.items()}
    return _wait_one(value)


def _wait_one(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and value.strip() in ("0", "0s", "0m", "0h", "0d"):
        return timedelta(0)
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    try:
        return _duration(value)
    except ValueError:
        raise ValueError(
            f'cannot read the wait {value!r}; write "interval" (one deadline of the '
            "order's class), a duration such as 4h or 0s, or a table per deadline class"
        ) from None


def _wait_text(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, dict):
        return {k: format_duration(v) for k, v in value.items()}
    return value


Wait = Annotated[Any, BeforeValidator(_wait), PlainSerializer(_wait_text, when_used="json")]


class Step(Strict):
    """One step of the escalation. ``wait`` is counted from the missed deadline for the first
    step and from the previous step for the others: ``"interval"`` (one deadline of the
    order's class), a duration, or a table of durations per deadline class."""

    code: Annotated[str, Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: str
    label_en: Text
    label_id: Text
    wait: Wait | None = None
    fine: Fine | None = None
    # sanction_proposal: the block action of the proposed sanction
    action: Literal["nxdomain", "nodata", "landing"] | None = None
    legal_basis: Text | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from tangkal.sop.steps import STEP_KINDS

        if value not in STEP_KINDS:
            raise ValueError(_unknown("step kind", value, STEP_KINDS))
        return value

    @model_validator(mode="after")
    def _kind_accepts(self) -> Step:
        from tangkal.sop.steps import STEP_KINDS

        STEP_KINDS[self.kind].check(self)
        return self

    def wait_for(self, urgency: str, deadline: timedelta, *, first: bool) -> timedelta:
        if self.wait is None:
            return timedelta(0) if first else deadline
        if self.wait == "interval":
            return deadline
        if isinstance(self.wait, dict):
            return self.wait.get(urgency, deadline)
        assert isinstance(self.wait, timedelta)
        return self.wait


class Escalation(Strict):
    steps: tuple[Step, ...] = ()

    @field_validator("steps")
    @classmethod
    def _unique_codes(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        seen: set[str] = set()
        for s in steps:
            if s.code in seen:
                raise ValueError(f"two steps have the code {s.code!r}; each code is used once")
            seen.add(s.code)
        return steps


class Decided(Strict):
    """A request the regulator must decide in time: officials are warned ``warn_before``
    the deadline (a quarter of the decision time when the profile says nothing)."""

    decide_within: Duration = timedelta(hours=48)
    warn_before: Duration | None = None

    def warning_lead(self) -> timedelta:
        return self.warn_before or self.decide_within / 4


class Objections(Decided):
    """Sanggah: how long after its subject an objection may be filed, and how long the
    regulator has to decide it; while one is pending the order's escalation waits."""

    file_within: Duration = timedelta(days=7)


class Appeals(Decided):
    """A member of the public contesting a block: how long the regulator has to decide.

    Fourteen days by default, the shorter of the terms that apply to contesting a decision
    of this kind: the two weeks of the EU TCO Regulation (Art. 10(2): the complainant is
    told the outcome within two weeks) and the ten working days Indonesian administrative
    law gives an authority to settle an objection to its decision (UU 30/2014, Pasal 77(4)).
    """

    decide_within: Duration = timedelta(days=14)


class Condition(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    label_en: Text
    label_id: Text


class Normalisation(Decided):
    max_blocks: Annotated[int, Field(ge=0)] = 3
    conditions: tuple[Condition, ...] = ()


class Sanctions(Strict):
    officials: Annotated[int, Field(ge=1, le=5)] = 2
    action: Literal["nxdomain", "nodata", "landing"] = "landing"
    legal_basis: Text | None = None


class Compliance(Strict):
    """How long ISPs have to make their resolvers follow a decision before a name still not
    compliant at one of them is escalated: on the case file of the block concerned and to the
    ISP through its channel, once per name, resolver and episode. Restoring gets the longer
    time because 2017's normalisation gave ISPs 1x24 hours; a new block is urgent (the RPZ
    reaches a following resolver in seconds, so hours are already generous)."""

    grace_after_block: Duration = timedelta(hours=4)
    grace_after_restore: Duration = timedelta(hours=24)

    def grace(self, expected: str) -> timedelta:
        """The grace for a result whose decision expects ``expected`` (``open``: restored)."""
        return self.grace_after_restore if expected == "open" else self.grace_after_block


class Approvals(Strict):
    second_official_for: tuple[
        Literal["whole_service_block", "protected_name", "restore_after_max_blocks"], ...
    ] = ()


class HashQuarantine(Strict):
    """When a banked signal is held for review instead of matching: its matches in the last
    ``window`` exceed ``max(min_matches, factor x baseline)``, the baseline being its own
    average matches per window over about ``history`` (an exponentially weighted mean, so
    it follows a signal whose use grows slowly). A near-blank image or a common logo frame
    banked by mistake matches nearly every upload; this stops it flooding moderators.

    Defaults: an hour's window catches a flood within minutes (a hash matching everything
    passes 50 in seconds on a busy platform); below 50 matches an hour even a bad hash
    floods nobody; ten times a signal's own weekly average is an order of magnitude, what a
    bad hash looks like and rarer for a real re-upload wave; a week of history spans
    weekday and weekend traffic. A held signal is still reported, as held with the reason,
    so a real surge is seen and its owner releases it with a new baseline."""

    enabled: bool = True
    window: Duration = timedelta(hours=1)
    history: Duration = timedelta(days=7)
    min_matches: Annotated[int, Field(ge=1, le=10_000_000)] = 50
    factor: Annotated[float, Field(gt=1, le=10_000)] = 10.0

    @model_validator(mode="after")
    def _history_longer(self) -> HashQuarantine:
        if self.history < 2 * self.window:
            raise ValueError("history must be at least twice the window")
        return self


def _iana_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Jakarta") from None
    return value


class SopProfile(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
    title: Text
    jurisdiction: Annotated[str, Field(min_length=2, max_length=10)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    timezone: str = "UTC"
    #: zones a person may choose to read times in, beside ``timezone`` (Indonesia's WITA and
    #: WIT); the profile's own zone is always one of the choices
    timezones: tuple[str, ...] = ()
    deemed_receipt_after: Duration = timedelta(hours=24)
    deadlines: dict[str, Duration]
    escalation: Escalation = Escalation()
    objections: Objections = Objections()
    normalisation: Normalisation = Normalisation()
    appeals: Appeals = Appeals()
    sanctions: Sanctions = Sanctions()
    compliance: Compliance = Compliance()
    approvals: Approvals = Approvals()
    hash_quarantine: HashQuarantine = HashQuarantine()
    categories: dict[str, Category]
    derived_from: str | None = None
    source: str = Field(default="", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _iana_zone(value)

    @field_validator("timezones")
    @classmethod
    def _zones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("names a zone twice")
        return tuple(_iana_zone(z) for z in value)

    @field_validator("deadlines", "categories")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("needs at least one entry")
        for k in value:
            if not _KEY.match(k):
                raise ValueError(f"{k!r} is not a key: lower-case letters, digits and '_'")
        return value

    @model_validator(mode="before")
    @classmethod
    def _category_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("categories"), dict):
            data = dict(data)
            data["categories"] = {
                k: ({**v, "key": k} if isinstance(v, dict) else v)
                for k, v in data["categories"].items()
            }
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SopProfile:
        for key, c in self.categories.items():
            if c.urgency not in self.deadlines:
                raise ValueError(
                    f"category {key} has urgency {c.urgency!r}, which has no deadline "
                    f"(have: {', '.join(self.deadlines)})"
                )
        for s in self.escalation.steps:
            if isinstance(s.wait, dict):
                for cls_ in s.wait:
                    if cls_ not in self.deadlines:
                        raise ValueError(
                            f"step {s.code} waits for {cls_!r}, which is no deadline class "
                            f"(have: {', '.join(self.deadlines)})"
                        )
        return self

    # ------------------------------------------------------------------ reading

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def zone_choices(self) -> tuple[str, ...]:
        """The zones a person may read times in: the profile's first, then the others."""
        return (self.timezone, *(z for z in self.timezones if z != self.timezone))

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.escalation.steps

    @property
    def warnings(self) -> tuple[Step, ...]:
        """Every step that is a letter to the platform (for reports that count letters)."""
        return self.escalation.steps

    def step(self, code: str) -> Step:
        for s in self.escalation.steps:
            if s.code == code:
                return s
        raise InvalidInput(
            Msg(
                "The %(profile)s profile has no escalation step %(code)r; it has: %(known)s.",
                profile=self.name,
                code=code,
                known=", ".join(s.code for s in self.steps) or "none",
            ),
            field="step",
        )

    @property
    def deemed_receipt(self) -> timedelta:
        return self.deemed_receipt_after

    @property
    def normalisation_decision(self) -> timedelta:
        return self.normalisation.decide_within

    @property
    def normalisation_max_blocks(self) -> int:
        return self.normalisation.max_blocks

    @property
    def second_approval_for(self) -> tuple[str, ...]:
        return self.approvals.second_official_for

    def category(self, key: str) -> Category:
        try:
            return self.categories[key]
        except KeyError:
            known = ", ".join(sorted(self.categories))
            raise InvalidInput(
                Msg(
                    "Unknown category %(key)r under the %(profile)s profile; use one of: "
                    "%(known)s.",
                    key=key,
                    profile=self.name,
                    known=known,
                ),
                field="category",
            ) from None

    def urgency_for(self, category: str, requested: str | None = None) -> str:
        urgency = requested or self.category(category).urgency
        if urgency not in self.deadlines:
            known = ", ".join(sorted(self.deadlines))
            raise InvalidInput(
                Msg(
                    "Unknown urgency %(urgency)r; use one of: %(known)s.",
                    urgency=urgency,
                    known=known,
                ),
                field="urgency",
            )
        return urgency

    def deadline(self, urgency: str) -> timedelta:
        return self.deadlines[urgency]

    def document(self) -> dict[str, Any]:
        """The profile as TOML-ready data: what ``sop derive`` writes and ``sop show`` reads."""
        data = self.model_dump(mode="json", exclude_none=True)
        for c in data["categories"].values():
            c.pop("key", None)
        return data

    def describe(self) -> dict[str, Any]:
        return {**self.document(), "source": self.source}

    def derive(self, speed: float, name: str | None = None) -> SopProfile:
        """The same procedure with every duration divided by ``speed`` (drills, demos, tests)."""
        if not (speed >= 1 and math.isfinite(speed)):
            raise ConfigurationError(f"--speed must be a number of at least 1, not {speed!r}.")

        def scale(value: Any) -> Any:
            if isinstance(value, timedelta):
                return value / speed
            if isinstance(value, dict):
                return {k: scale(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [scale(v) for v in value]
            return value

        data = scale(self.model_dump(exclude={"source"}))
        for c in data["categories"].values():
            c.pop("key", None)
        data["name"] = name or f"{self.name}-x{speed:g}"
        data["title"] = f"{self.title} (drill, {speed:g}x faster)"
        data["derived_from"] = self.name
        return parse_profile(_plain(data), f"derived from {self.source or self.name}")


def _plain(value: Any) -> Any:
    """Model dump → TOML-like data (durations as text), so derived profiles are validated
    through exactly the path a file takes."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unknown(what: str, value: str, known: Any) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {value!r}{hint}; known: {', '.join(names)}"


# ---------------------------------------------------------------------- parsing


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line of a key path in the TOML text (tomllib keeps no positions): each
    key is looked for after the line where its parent was found; ``[[table]]`` arrays are
    counted by their headers."""
    lines = text.splitlines()
    start, found = 0, None
    path: list[str] = []
    for part in loc:
        if isinstance(part, int):
            header = re.compile(r"\s*\[\[\s*" + re.escape(".".join(path)) + r"\s*\]\]")
            hits = [i for i, ln in enumerate(lines) if i >= start and header.match(ln)]
            if len(hits) > part:
                start = found = hits[part]
            continue
        path.append(str(part))
        pat = re.compile(r"(^|[\s{,.\[])" + re.escape(str(part)) + r"\s*(=|\]|\.)")
        for i in range(start, len(lines)):
            if pat.search(lines[i].split("#", 1)[0]):
                start = found = i
                break
    return None if found is None else found + 1


def _problem(exc: ValidationError, source: str, text: str | None) -> ConfigurationError:
    parts = []
    for err in exc.errors()[:5]:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(text, loc) if text else None
        where = f"{source}" + (f", line {line}" if line else "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not part of an SOP profile; check the spelling)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        parts.append(f"{where}: {key}: {msg}")
    more = len(exc.errors()) - 5
    tail = f" (and {more} more)" if more > 0 else ""
    return ConfigurationError("Invalid SOP profile — " + "; ".join(parts) + tail)


def parse_profile(data: dict[str, Any], source: str, text: str | None = None) -> SopProfile:
    try:
        profile = SopProfile.model_validate({**data, "source": source}, strict=False)
    except ValidationError as exc:
        raise _problem(exc, source, text) from None
    return profile


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def read_profile(name_or_path: str) -> SopProfile:
    """A shipped profile by name, or a TOML file by path, validated; nothing is remembered."""
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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"SOP profile file {path} cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"SOP profile {path} is not valid TOML: {exc}") from None
    return parse_profile(data, str(path), text)


@lru_cache(maxsize=16)
def load_profile(name_or_path: str) -> SopProfile:
    """:func:`read_profile`, remembered by name so orders filed under it resolve it."""
    profile = read_profile(name_or_path)
    _LOADED[profile.name] = profile
    return profile


_LOADED: dict[str, SopProfile] = {}


def remember(profile: SopProfile) -> SopProfile:
    """Make a profile built in memory (a derived drill) known by its name, as loading does."""
    _LOADED[profile.name] = profile
    return profile


class UnknownProfile(ConfigurationError):
    """An order names a profile this process has not loaded (and no shipped one has that
    name): the scheduler reports and skips such orders instead of failing every pass."""


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
    if name not in shipped_profiles():
        raise UnknownProfile(
            f"Order filed under the SOP profile {name!r}, which this server has not loaded "
            f"(in force: {active.name})."
        )
    return load_profile(name)


def active_profile() -> SopProfile:
    from tangkal.settings import get_settings

    return load_profile(get_settings().sop_profile)
