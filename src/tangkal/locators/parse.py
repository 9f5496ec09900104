"""``parse_locator``: the one door through which free text becomes a :class:`Locator`.

Analysts paste from chat apps, PDFs and email, so the text arrives wrapped in brackets and
quotes, followed by sentence punctuation, and sprinkled with zero-width characters. We
remove exactly that junk and nothing else, then decide what the text is:

1. a canonical key (``domain:``, ``url:``, ``telegram:``), so stored keys parse back;
2. ``@name`` (Telegram mention) or a ``tg:`` deep link;
3. a URL with a scheme (only http and https are accepted);
4. text with a path, query or port but no scheme (``t.me/name``, ``example.com/a``),
   read as ``https://`` + text;
5. otherwise a bare domain name (``name.t.me`` is read as the Telegram channel).
"""

from __future__ import annotations

import re

from tangkal.errors import InvalidLocator, Msg
from tangkal.locators import telegram
from tangkal.locators.domain import Domain, _show
from tangkal.locators.model import Locator, LocatorKind
from tangkal.locators.url import MAX_URL_LENGTH, parse_url

__all__ = ["clean_text", "parse_locator"]

_FIELD = "locator"

# Invisible characters that copy-paste inserts (zero-width space, word joiner, BOM, soft
# hyphen, bidi marks and embeddings). They never belong in a locator, so they go
# wherever they are. ZWJ/ZWNJ are only trimmed at the ends: IDNA allows them inside
# some scripts' labels.
_INVISIBLE = re.compile("[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_EDGE_INVISIBLE = "\u200c\u200d"
_LEADING_JUNK = "<([{\"'“”‘’«»`" + _EDGE_INVISIBLE
_TRAILING_JUNK = ">)]}\"'“”‘’«»`.,;:!?" + _EDGE_INVISIBLE
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CANONICAL = re.compile(r"(domain|url|telegram):(?!//)")


def _strip_trailing(text: str) -> str:
    """Remove trailing punctuation, but keep a ``)`` that closes a ``(`` in the text."""
    while text and (text[-1] in _TRAILING_JUNK or text[-1].isspace()):
        if text[-1] == ")" and text.count("(") >= text.count(")"):
            break
        if text[-1] == "]" and text.count("[") >= text.count("]"):
            break
        if text.endswith(".."):
            break  # not sentence punctuation: leave "t.me.." for the domain check to refuse
        text = text[:-1]
    return text


def clean_text(text: str) -> str:
    """Strip the copy-paste wrapping around a locator; never changes its inside."""
    text = _INVISIBLE.sub("", text).strip()
    previous = None
    while previous != text:
        previous = text
        text = text.lstrip(_LEADING_JUNK).strip()
        text = _strip_trailing(text).strip()
    return text


# Unicode's control characters (category Cc) are exactly these two ranges.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _from_canonical(prefix: str, rest: str, original: str) -> Locator:
    if prefix == "domain":
        return _domain_locator(Domain.parse(rest, field=_FIELD), original)
    if prefix == "url":
        return parse_url("https://" + rest)
    return telegram.from_canonical(rest, original)


def _domain_locator(domain: Domain, original: str) -> Locator:
    if telegram.is_telegram_host(domain) and domain.registrable != domain.name:
        found = telegram.from_url_parts(domain, "/", "", original)
        if found is not None:
            return found
    return Locator(
        kind=LocatorKind.DOMAIN,
        canonical=f"domain:{domain.name}",
        display=domain.unicode,
        domain=domain,
    )


def parse_locator(text: str) -> Locator:
    """Recognise and canonicalise a domain, http(s) URL or Telegram link.

    Raises :class:`tangkal.errors.InvalidLocator` (``field="locator"``) with a message that
    says what is wrong and what would be accepted.
    """
    if not isinstance(text, str):
        raise InvalidLocator(f"a locator must be text, not {type(text).__name__}", field=_FIELD)
    cleaned = clean_text(text)
    if not cleaned:
        raise InvalidLocator(
            Msg("the locator is empty; give a domain (example.com), a URL or a Telegram link"),
            field=_FIELD,
        )
    if len(cleaned) > MAX_URL_LENGTH:
        raise InvalidLocator(
            Msg(
                "the locator is %(length)s characters long; the limit is %(limit)s",
                length=len(cleaned),
                limit=MAX_URL_LENGTH,
            ),
            field=_FIELD,
        )
    if _has_control(cleaned):
        raise InvalidLocator(
            Msg(
                "%(text)s contains control characters (such as a line break or tab); "
                "give one locator per line",
                text=_show(cleaned),
            ),
            field=_FIELD,
        )

    canonical = _CANONICAL.match(cleaned)
    if canonical:
        return _from_canonical(canonical[1], cleaned[canonical.end() :], cleaned)
    if cleaned.startswith("@"):
        return telegram.from_mention(cleaned)

    scheme = _SCHEME.match(cleaned)
    # "example.com:8080/x" also matches the scheme pattern; a real scheme has no dot and is
    # not followed by a port number.
    if (
        scheme
        and "." not in scheme[1]
        and not re.match(r"\d+(?:[/?#]|\Z)", cleaned[scheme.end() :])
    ):
        name = scheme[1].lower()
        if name == "tg":
            return telegram.from_tg_uri(cleaned)
        if name in ("http", "https"):
            return parse_url(cleaned)
        raise InvalidLocator(
            Msg(
                "%(text)s is a %(scheme)r link; only http and https URLs, domains and "
                "Telegram links can be named",
                text=_show(cleaned),
                scheme=name,
            ),
            field=_FIELD,
        )
    if scheme and cleaned[scheme.end() :].startswith("//"):
        raise InvalidLocator(
            Msg(
                "%(text)s has an unknown scheme %(scheme)r; use http or https",
                text=_show(cleaned),
                scheme=scheme[1],
            ),
            field=_FIELD,
        )
    if any(sep in cleaned for sep in "/?#:"):
        return parse_url("https://" + cleaned)
    if "@" in cleaned:
        raise InvalidLocator(
            Msg(
                "%(text)s looks like an e-mail address; give the domain, URL or "
                "Telegram link of the content",
                text=_show(cleaned),
            ),
            field=_FIELD,
        )
    return _domain_locator(Domain.parse(cleaned, field=_FIELD), cleaned)
