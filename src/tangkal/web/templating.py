"""Jinja2 environments, one per language and time zone, with the catalogue and formatters.

One environment per language (rather than swapping gettext per request) keeps rendering
free of shared mutable state: two requests in different languages can render at once on
different threads without one seeing the other's catalogue. The time zone is part of the
key for the same reason: a person reading in WITA and one in WIB render side by side, and
the zones a profile offers are few (Indonesia's three), so the environments are few too.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tangkal import limits
from tangkal.web.display import nav_items
from tangkal.web.i18n import LANGUAGES, Formatter, as_datetime, translations

TEMPLATE_DIR = Path(__file__).parent / "templates"


def _query(params: dict[str, Any], **changes: Any) -> str:
    """The current query string with some values changed (None removes a key)."""
    merged = {k: v for k, v in params.items() if v not in (None, "")}
    for k, v in changes.items():
        if v in (None, ""):
            merged.pop(k, None)
        else:
            merged[k] = v
    return ("?" + urlencode(merged)) if merged else ""


def _zone_choices() -> tuple[str, ...]:
    """The zones a person may read times in (the SOP profile's), for the footer's chooser."""
    from tangkal.sop.profile import active_profile

    return active_profile().zone_choices


@lru_cache(maxsize=len(LANGUAGES) * 8)
def environment(lang: str, zone: str | None = None) -> Environment:
    """``zone``: an IANA name the person chose (``User.timezone``); None, the profile's."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    fmt = Formatter(lang, ZoneInfo(zone) if zone else None)
    env.globals.update(
        zone_choices=_zone_choices,
        lang=lang,
        fmt=fmt,
        languages=LANGUAGES,
        query=_query,
        nav_items=nav_items,
        limits=limits,
    )
    env.filters.update(
        dt=fmt.when,
        dts=lambda v: fmt.when(v, seconds=True),
        num=fmt.number,
        pct=fmt.percent,
        iso=fmt.iso,
        month=fmt.month,
        duration=fmt.duration,
        as_dt=as_datetime,
        t=fmt.message,
    )
    return env


def render(lang: str, template: str, context: dict[str, Any], zone: str | None = None) -> str:
    return environment(lang, zone).get_template(template).render(**context)
