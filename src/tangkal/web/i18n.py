"""Languages, message catalogues and locale-aware formatting for the web pages.

The catalogues are the ``.po`` files under ``i18n/<lang>/LC_MESSAGES/messages.po``. They are
compiled in memory when first used (Babel's own reader and writer), so there is no build
step and no committed ``.mo`` that could drift from its ``.po``: a clean clone installed
with ``pip install -e .`` serves both languages.

Times are shown in Western Indonesia Time (WIB). Indonesia has kept UTC+7 without daylight
saving since 1964, so a fixed offset is exact and does not depend on the host's tz data.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
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
    return (normalise(query) or normalise(cookie) or from_accept_language(accept)
            or DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class Formatter:
    """Everything a page needs to show numbers, times and deadlines in one language."""

    lang: str

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

    def term(self, value: enum.Enum) -> str:
        """An enum value named inside a sentence of this language: the label its badge or
        choice shows (``tangkal.web.labels``), in quotes only where the translated template
        puts them. In English it stays the API's own word, so an English page reads exactly
        as the API's message (``Msg.text``) does, and a value without a label stays as it is.
        """
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

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, locale=self.lang)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, locale=self.lang, format="#,##0.#%")

    def when(self, value: datetime | str | None, *, seconds: bool = False) -> str:
        """``14 Jul 2017 14.05 WIB`` / ``Jul 14, 2017, 2:05 PM WIB``."""
        dt = as_datetime(value)
        if dt is None:
            return "—"
        local = dt.astimezone(WIB)
        day = format_date(local, format="medium", locale=self.lang)
        clock = format_time(local, format="medium" if seconds else "short", locale=self.lang,
                            tzinfo=WIB)
        return f"{day} {clock} {ZONE_NAME}"

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

    def countdown(self, deadline: datetime | str | None, now: datetime | None = None,
                  *, paused: bool = False) -> Countdown:
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
            return Countdown(self.gettext("OVERDUE by %(span)s") % {"span": span}, "overdue",
                             left)
        state = "soon" if left < 3600 else "ok"
        return Countdown(self.gettext("%(span)s left") % {"span": span}, state, left)


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
