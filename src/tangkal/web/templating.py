"""Jinja2 environments, one per language, with the catalogue and formatters installed.

One environment per language (rather than swapping gettext per request) keeps rendering
free of shared mutable state: two requests in different languages can render at once on
different threads without one seeing the other's catalogue.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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


@lru_cache(maxsize=len(LANGUAGES))
def environment(lang: str) -> Environment:
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
    fmt = Formatter(lang)
    env.globals.update(
        lang=lang, fmt=fmt, languages=LANGUAGES, query=_query, nav_items=nav_items, limits=limits
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


def render(lang: str, template: str, context: dict[str, Any]) -> str:
    return environment(lang).get_template(template).render(**context)
