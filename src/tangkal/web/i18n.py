"""Languages, message catalogues and locale-aware formatting for the web pages.

The catalogues are the ``.po`` files under ``i18n/<lang>/LC_MESSAGES/messages.po``. They are
compiled in memory when first used (Babel's own reader and writer), so there is no build
step and no committed ``.mo`` that could drift from its ``.po``: a clean clone installed
with ``pip install -e .`` serves both languages.

Times are shown in the time zone of the SOP profile in force (``profile.timezone``; Asia/Jakarta,
that is WIB, for Indonesia), named by its abbreviation, so a deadline reads as the law that set
it counts it. ``WIB`` stays as the fallback when no profile can be read (a broken settings
file must not stop an error page from rendering).
"""

from __future__ import annotations

import enum
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from tangkal.errors import Msg
from tangkal.web import labels

LANGUAGES: tuple[str, ...] = ("id", "en")
DEFAULT_LANGUAGE = "id"
SOURCE_LANGUAGE = "en"  # the language of the message ids, and of the API
CATALOGUE_DIR = Path(__file__).parent / "i18n"
WIB = timezone(timedelta(hours=7), "WIB")
ZONE_NAME = "WIB"


def page_zone() -> tzinfo:
    """The time zone every page shows times in: the SOP profile's (``profile.timezone``)."""
    try:
        from tangkal.sop.profile import active_profile

        return active_profile().zone
    except Exception:  # an unreadable profile is reported at start-up, not by a page
        return WIB


def zone_abbreviation(at: datetime | None = None, zone: tzinfo | None = None) -> str:
    """``WIB``, ``CEST``, ``UTC``: the zone's short name at ``at`` (now by default)."""
    z = zone or page_zone()
    local = (at or datetime.now(UTC)).astimezone(z)
    return local.tzname() or ZONE_NAME


def catalogue_path(lang: str) -> Path:
    return CATALOGUE_DIR / lang / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue for ``lang`` (fuzzy entries are left out, as msgfmt does)."""
    path = catalogue_path(lang)
    if lang not in LANGUAGES or not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return GNUTranslations(buf)


def normalise(value: str | None) -> str | None:
    """``"en-GB"`` → ``"en"``; anything we do not serve → None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if code == "in":  # the old ISO 639 code for Indonesian, still sent by some Android browsers
        code = "id"
    return code if code in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, honouring q-values."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for pos, part in enumerate(header.split(",")[:30]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        lang = normalise(tag)
        if lang is None or q <= 0:
            continue
        key = (q, -pos, lang)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def choose_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """``?lang=`` first, then the remembered choice, then the browser, else Indonesian."""
    return normalise(query) or normalise(cookie) or from_accept_language(accept) or DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Formatter:
    """Everything a page needs to show numbers, times and deadlines in one language."""

    lang: str
    #: the zone times are shown in; None: the SOP profile's (``page_zone``)
    zone: tzinfo | None = None

    @property
    def tz(self) -> tzinfo:
        return self.zone or page_zone()

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    def gettext(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def message(self, message: str | Msg) -> str:
        """A domain message (``TangkalError.msg``, or a form's own text) in this language:
        the template translated, then its parameters filled in. A translation whose
        placeholders do not fit (the catalogue test forbids that) falls back to English
        rather than failing the page."""
        if isinstance(message, str):
            return self.gettext(message)
        try:
            return message.render(self.gettext, self.term)
        except (KeyError, ValueError, TypeError):
            return message.text

    def term(self, value: enum.Enum | datetime | timedelta) -> str:
        """A moment inside a sentence as :meth:`when` shows it, a duration in words
        (:meth:`period`); an enum value by the label its badge or choice shows
        (``tangkal.web.labels``), in quotes only where the translated template puts them.
        In English an enum stays the API's own word, so an English page reads exactly as
        the API's message (``Msg.text``) does, and a value without a label stays as it is.
        """
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, timedelta):
            return self.period(value)
        raw = str(value.value)
        table = labels.TERMS.get(type(value))
        if self.lang == SOURCE_LANGUAGE or table is None or raw not in table:
            return raw
        return self.gettext(table[raw])

    def label(self, table: str, value: str) -> str:
        """The label of a status, action, role or kind (``tangkal.web.labels.TABLES``) for a
        badge or a choice, in both languages; an unknown value is shown as it is."""
        message = labels.TABLES[table].get(value)
        return self.gettext(message) if message else value

    def actor(self, actor: str | None, *, people: bool = True) -> str:
        """Who did something, as the audit record names them (``org/user(role)``), in words:
        the person's and the organisation's display names, ``Analis Satu (Kementerian
        Komunikasi dan Informatika)``, read from the page's directory
        (``tangkal.web.people``); without one, or for someone no longer there, the user
        name with the role in words, ``pejabat-1 (Pejabat), kominfo``. The scheduler as
        itself, a member of the public by the address they gave; anything else as it is.
        ``people=False`` (what a platform sees of the regulator's staff, as in its case
        file): the organisation only."""
        from tangkal.web import people as directory

        if not actor:
            return "—"
        if actor == _SYSTEM_ACTOR or (actor == "tangkal" and not people):
            return self.gettext("tangkal (automatic, by the SOP)")
        if actor.startswith("public:"):
            return actor.removeprefix("public:")
        m = _ACTOR.match(actor)
        if m is None:
            return actor
        found = directory.current()
        org = m.group("org")
        if not people:
            return (found.organisation(org) if found else None) or org
        person = found.person(org, m.group("who")) if found else None
        if person is not None:
            return f"{person.display_name} ({person.org_display})"
        role = self.label("role", m.group("role"))
        org_display = (found.organisation(org) if found else None) or org
        return f"{m.group('who')} ({role}), {org_display}"

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, locale=self.lang)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, locale=self.lang, format="#,##0.#%")

    def when(self, value: datetime | str | None, *, seconds: bool = False) -> str:
        """``14 Jul 2017 14.05 WIB`` / ``Jul 14, 2017, 2:05 PM WIB``, in the profile's zone."""
        dt = as_datetime(value)
        if dt is None:
            return "—"
        zone = self.tz
        local = dt.astimezone(zone)
        day = format_date(local, format="medium", locale=self.lang)
        clock = format_time(
            local, format="medium" if seconds else "short", locale=self.lang, tzinfo=zone
        )
        return f"{day} {clock} {local.tzname() or ZONE_NAME}"

    def period(self, value: timedelta) -> str:
        """A rule's period (a deadline, a time to object), exact, in the largest units
        that divide it: ``2 hari``, ``1 jam 30 menit`` / ``2 days``, ``1 hour 30 minutes``
        (Babel's own ``format_timedelta`` rounds to one unit: a 90-minute deadline would
        read "2 jam")."""
        left = round(value.total_seconds())
        if left <= 0:
            return format_timedelta(timedelta(0), threshold=1, locale=self.lang)
        parts = []
        for size in (86400, 3600, 60, 1):
            count, left = divmod(left, size)
            if count:
                parts.append(
                    format_timedelta(
                        timedelta(seconds=count * size),
                        threshold=1,
                        granularity="second",
                        locale=self.lang,
                    )
                )
        return " ".join(parts)

    def zone_note(self) -> str:
        """The footer's sentence naming the zone: ``Asia/Jakarta (WIB, UTC+07:00)``."""
        zone = self.tz
        local = datetime.now(UTC).astimezone(zone)
        offset = local.strftime("%z")
        offset = f"{offset[:3]}:{offset[3:]}" if len(offset) == 5 else offset
        name = getattr(zone, "key", None) or local.tzname() or ZONE_NAME
        text = self.gettext("Times are shown in the %(zone)s time zone (%(abbr)s, UTC%(offset)s).")
        return text % {"zone": name, "abbr": local.tzname() or ZONE_NAME, "offset": offset}

    def zone_label(self, name: str) -> str:
        """A zone a person may choose, as they know it: ``WITA (Asia/Makassar)``."""
        return f"{zone_abbreviation(zone=ZoneInfo(name))} ({name})"

    @property
    def zone_key(self) -> str:
        """The IANA name of the zone times are shown in (the profile's, or the person's)."""
        return str(getattr(self.tz, "key", "") or "")

    def iso(self, value: datetime | str | None) -> str:
        dt = as_datetime(value)
        return dt.astimezone(UTC).isoformat() if dt else ""

    def month(self, key: str) -> str:
        """``"2017-07"`` → ``Juli 2017`` / ``July 2017``."""
        try:
            year, month = (int(p) for p in key.split("-", 1))
            return format_date(datetime(year, month, 1), format="LLLL y", locale=self.lang)
        except (ValueError, TypeError):
            return key

    def duration(self, seconds: float) -> str:
        """A compact span: ``2 hari 3 jam`` / ``2 d 3 h``; minutes below a day."""
        s = max(0, int(seconds))
        days, rem = divmod(s, 86400)
        hours, rem = divmod(rem, 3600)
        minutes = rem // 60
        if days:
            return self.gettext("%(d)d d %(h)d h") % {"d": days, "h": hours}
        if hours:
            return self.gettext("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
        if minutes:
            return self.gettext("%(m)d min") % {"m": minutes}
        return self.gettext("under a minute")

    def countdown(
        self, deadline: datetime | str | None, now: datetime | None = None, *, paused: bool = False
    ) -> Countdown:
        """The deadline as the person acting on it needs it: time left, or how late."""
        dt = as_datetime(deadline)
        if dt is None:
            return Countdown("", "none", 0)
        now = now or datetime.now(UTC)
        left = (dt - now).total_seconds()
        if paused:
            return Countdown(self.gettext("clock paused (clarification)"), "paused", left)
        span = self.duration(abs(left))
        if left < 0:
            return Countdown(self.gettext("OVERDUE by %(span)s") % {"span": span}, "overdue", left)
        state = "soon" if left < 3600 else "ok"
        return Countdown(self.gettext("%(span)s left") % {"span": span}, state, left)


_ACTOR = re.compile(r"(?P<org>[^/]+)/(?P<who>.+)\((?P<role>[a-z_]+)\)\Z")
_SYSTEM_ACTOR = "tangkal/system(admin)"


@dataclass(frozen=True, slots=True)
class Countdown:
    text: str
    state: str  # "ok", "soon", "overdue", "paused", "none"
    seconds: float


def as_datetime(value: datetime | str | None) -> datetime | None:
    """Accept what services hand out (aware datetimes or ISO strings); naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def label(mapping: Mapping[str, str], lang: str, fallback: str) -> str:
    """Pick ``label_<lang>`` from a mapping such as an SOP category."""
    return mapping.get(f"label_{lang}") or mapping.get("label_en") or fallback
