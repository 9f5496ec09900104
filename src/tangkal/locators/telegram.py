"""Telegram links in all the shapes people paste them, reduced to one key per item.

The 2017 case turned on Telegram channels reported by email in whatever form the analyst
had at hand; the platform must be able to tell that ``T.ME/Name/``, ``t.me/s/name/123``,
``tg://resolve?domain=name&post=123`` and ``name.t.me`` name the same channel or post.

Accepted forms (hosts ``t.me``, ``telegram.me``, ``telegram.dog``, with or without ``www.``,
http or https, or no scheme at all):

* ``t.me/<name>`` and ``<name>.t.me``                    -> channel
* ``t.me/<name>/<post>``, ``t.me/s/<name>/<post>``,
  ``t.me/<name>/<topic>/<post>``, ``<name>.t.me/<post>`` -> post (``?single``,
  ``?comment=``, ``?thread=`` and other query parameters do not change the item)
* ``t.me/+<hash>``, ``t.me/joinchat/<hash>``              -> invite (hash case-sensitive)
* ``t.me/c/<channel id>/<post>`` (also with a topic)      -> private post
* ``tg://resolve?domain=<name>[&post=<n>]``, ``tg://join?invite=<hash>``,
  ``tg://privatepost?channel=<id>&post=<n>``, and ``@name``.

Usernames: Telegram today issues 5-32 characters of ``[a-z0-9_]`` starting with a letter,
without trailing or double underscores; but 4-character names are sold at auction and old
names predate the underscore rules, so we accept 4-32 characters starting with a letter and
do not police underscores. Being generous here only risks naming a channel that does not
exist; being strict would refuse real ones. Usernames are case-insensitive and stored in
lower case; invite hashes are case-sensitive and kept as given.

Feature paths (``t.me/share``, ``t.me/addstickers``, ``t.me/proxy``, ...) are not content
and are refused with a message saying so, as are phone-number links (``t.me/+62...``),
which point at a person rather than at content.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from tangkal.errors import InvalidLocator, Msg
from tangkal.locators.domain import Domain, _show
from tangkal.locators.model import Locator, LocatorKind

__all__ = [
    "TELEGRAM_LINK_DOMAINS",
    "channel_locator",
    "from_mention",
    "from_tg_uri",
    "from_url_parts",
    "invite_locator",
    "is_telegram_host",
    "post_locator",
    "private_post_locator",
]

TELEGRAM_LINK_DOMAINS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_T_ME = Domain("t.me")
_FIELD = "locator"

_USERNAME = re.compile(r"[a-z][a-z0-9_]{3,31}\Z")
_INVITE = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
_MAX_MESSAGE_ID = 2**31 - 1  # Telegram message ids are signed 32-bit
_MAX_CHANNEL_ID = 10**13

# First path segments that are Telegram features rather than channels.
RESERVED_PATHS = frozenset(
    {
        "a",
        "addemoji",
        "addlist",
        "addstickers",
        "addtheme",
        "bg",
        "boost",
        "confirmphone",
        "contact",
        "dl",
        "giftcode",
        "invoice",
        "iv",
        "k",
        "login",
        "m",
        "nft",
        "proxy",
        "setlanguage",
        "share",
        "socks",
        "z",
    }
)


def _fail(message: str | Msg) -> InvalidLocator:
    return InvalidLocator(message, field=_FIELD)


def is_telegram_host(domain: Domain) -> bool:
    """Whether links on this host are Telegram's link shortener (t.me and its aliases)."""
    return domain.registrable in TELEGRAM_LINK_DOMAINS


def _username(raw: str, original: str) -> str:
    name = raw.lower()
    if not _USERNAME.match(name):
        raise _fail(
            Msg(
                "%(text)s: %(raw)r is not a Telegram username; usernames are 4-32 "
                "letters, digits or underscores and start with a letter",
                text=_show(original),
                raw=raw,
            )
        )
    return name


def _message_id(raw: str, original: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= _MAX_MESSAGE_ID:
        raise _fail(
            Msg(
                "%(text)s: %(raw)r is not a valid post number (a positive whole number); "
                "link a channel as t.me/name or a post as t.me/name/123",
                text=_show(original),
                raw=raw,
            )
        )
    return int(raw)


def _channel_id(raw: str, original: str) -> str:
    digits = raw.removeprefix("-100")  # Bot API ids carry a -100 prefix that links omit
    if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) < _MAX_CHANNEL_ID:
        raise _fail(
            Msg(
                "%(text)s: %(raw)r is not a private channel id; private posts look "
                "like t.me/c/1234567890/55",
                text=_show(original),
                raw=raw,
            )
        )
    return str(int(digits))


def _invite_hash(raw: str, original: str) -> str:
    if raw.isdigit():
        raise _fail(
            Msg(
                "%(text)s is a phone-number link, which points at a person, not at "
                "content; name the channel, post or invite link instead",
                text=_show(original),
            )
        )
    if not _INVITE.match(raw):
        raise _fail(
            Msg(
                "%(text)s: %(raw)r is not a Telegram invite code; invite links look "
                "like t.me/+AbCdEf123456 or t.me/joinchat/AbCdEf123456",
                text=_show(original),
                raw=raw,
            )
        )
    return raw


def channel_locator(username: str) -> Locator:
    """Locator for a public channel, group, bot or user by (validated) username."""
    name = _username(username, username)
    path = name
    return Locator(
        kind=LocatorKind.TELEGRAM_CHANNEL,
        canonical=f"telegram:channel/{name}",
        display=f"t.me/{path}",
        domain=_T_ME,
        url=f"https://t.me/{path}",
        channel=name,
    )


def post_locator(username: str, post: int) -> Locator:
    """Locator for one message in a public channel."""
    name = _username(username, username)
    path = f"{name}/{post}"
    return Locator(
        kind=LocatorKind.TELEGRAM_POST,
        canonical=f"telegram:post/{path}",
        display=f"t.me/{path}",
        domain=_T_ME,
        url=f"https://t.me/{path}",
        channel=name,
        post=post,
    )


def invite_locator(invite: str) -> Locator:
    """Locator for an invite link; the hash is kept exactly (it is case-sensitive)."""
    code = _invite_hash(invite, invite)
    return Locator(
        kind=LocatorKind.TELEGRAM_INVITE,
        canonical=f"telegram:invite/{code}",
        display=f"t.me/+{code}",
        domain=_T_ME,
        url=f"https://t.me/+{code}",
        invite=code,
    )


def private_post_locator(channel_id: str, post: int) -> Locator:
    """Locator for a message in a private channel, which only has a numeric id."""
    cid = _channel_id(channel_id, channel_id)
    path = f"{cid}/{post}"
    return Locator(
        kind=LocatorKind.TELEGRAM_PRIVATE_POST,
        canonical=f"telegram:private/{path}",
        display=f"t.me/c/{path}",
        domain=_T_ME,
        url=f"https://t.me/c/{path}",
        channel=cid,
        post=post,
    )


def _from_segments(segments: list[str], original: str) -> Locator:
    """Interpret the path segments of a t.me link (host already known to be Telegram)."""
    first = segments[0]
    rest = segments[1:]
    lowered = first.lower()
    if first.startswith("+"):
        if rest:
            raise _fail(
                Msg("%(text)s: an invite link has nothing after the code", text=_show(original))
            )
        return invite_locator(_invite_hash(first[1:], original))
    if lowered == "joinchat":
        if len(rest) != 1:
            raise _fail(
                Msg("%(text)s: write invite links as t.me/joinchat/<code>", text=_show(original))
            )
        return invite_locator(_invite_hash(rest[0], original))
    if lowered == "c":
        if len(rest) not in (2, 3):
            raise _fail(
                Msg(
                    "%(text)s: a private channel link needs a post number, "
                    "e.g. t.me/c/1234567890/55; the channel alone cannot be linked",
                    text=_show(original),
                )
            )
        # With three parts the middle one is a forum topic; message ids are unique per chat.
        return private_post_locator(_channel_id(rest[0], original), _message_id(rest[-1], original))
    if lowered == "s":  # the web preview: t.me/s/name[/post]
        if not rest:
            raise _fail(
                Msg("%(text)s: the web preview link needs a channel name", text=_show(original))
            )
        first, rest = rest[0], rest[1:]
        lowered = first.lower()
    if lowered in RESERVED_PATHS:
        raise _fail(
            Msg(
                "%(text)s is a Telegram feature link (t.me/%(path)s), not content; "
                "give the channel (t.me/name), post (t.me/name/123) or invite link",
                text=_show(original),
                path=lowered,
            )
        )
    name = _username(first, original)
    if not rest:
        return channel_locator(name)
    if len(rest) > 2:
        raise _fail(
            Msg("%(text)s has more path parts than a Telegram post link", text=_show(original))
        )
    return post_locator(name, _message_id(rest[-1], original))


def from_url_parts(domain: Domain, path: str, query: str, original: str) -> Locator | None:
    """Locator for a normalised URL on a Telegram host; None for the bare site root."""
    del query  # ?single, ?comment=, ?thread=, ?start= ... never change which item it is
    segments = [unquote(s) for s in path.split("/") if s]
    assert domain.registrable is not None
    sub = domain.name[: -len(domain.registrable)].rstrip(".")
    if sub in ("", "www"):
        if not segments:
            return None
        return _from_segments(segments, original)
    if "." in sub:
        raise _fail(
            Msg("%(text)s is not a Telegram link form that tangkal knows", text=_show(original))
        )
    name = _username(sub, original)  # name.t.me
    if segments and segments[0].lower() == "s":
        segments = segments[1:]
    if not segments:
        return channel_locator(name)
    if len(segments) > 2:
        raise _fail(
            Msg("%(text)s has more path parts than a Telegram post link", text=_show(original))
        )
    return post_locator(name, _message_id(segments[-1], original))


def _query_params(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for piece in query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            params.setdefault(unquote(key).lower(), unquote(value))
    return params


def from_tg_uri(text: str) -> Locator:
    """Locator for a ``tg:`` deep link as used inside the Telegram apps."""
    match = re.match(r"tg:(?://)?([A-Za-z]+)/?(?:\?([^#]*))?(?:#.*)?\Z", text, re.IGNORECASE)
    if match is None:
        raise _fail(Msg("%(text)s is not a tg: link tangkal understands", text=_show(text)))
    action = match[1].lower()
    params = _query_params(match[2] or "")
    if action == "resolve":
        if "domain" not in params:
            raise _fail(
                Msg(
                    "%(text)s does not name a channel (domain=...); phone-number links point "
                    "at a person and cannot be named",
                    text=_show(text),
                )
            )
        name = _username(params["domain"], text)
        if "post" in params:
            return post_locator(name, _message_id(params["post"], text))
        return channel_locator(name)
    if action == "join" and "invite" in params:
        return invite_locator(_invite_hash(params["invite"], text))
    if action == "privatepost" and "channel" in params and "post" in params:
        return private_post_locator(
            _channel_id(params["channel"], text), _message_id(params["post"], text)
        )
    raise _fail(
        Msg(
            "%(text)s is a tg://%(action)s link, which is not a channel, post or invite; "
            "give a t.me link instead",
            text=_show(text),
            action=action,
        )
    )


def from_mention(text: str) -> Locator:
    """Locator for a bare ``@name`` mention."""
    return channel_locator(_username(text[1:], text))


def from_canonical(rest: str, original: str) -> Locator:
    """Rebuild a Telegram locator from the part of its canonical key after ``telegram:``."""
    kind, _, tail = rest.partition("/")
    parts = tail.split("/") if tail else []
    if kind == "channel" and len(parts) == 1:
        return channel_locator(parts[0])
    if kind == "post" and len(parts) == 2:
        return post_locator(_username(parts[0], original), _message_id(parts[1], original))
    if kind == "invite" and len(parts) == 1:
        return invite_locator(parts[0])
    if kind == "private" and len(parts) == 2:
        return private_post_locator(
            _channel_id(parts[0], original), _message_id(parts[1], original)
        )
    raise _fail(Msg("%(text)s is not a valid telegram: key", text=_show(original)))
