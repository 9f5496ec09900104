"""The :class:`Locator` value: what an order, a block or a hash-bank entry points at.

``Locator.canonical`` is the identity key. It is stored in the database and used, forever,
to find earlier orders about the same item, so its formats are a compatibility contract:

* ``domain:<a-label name>``                   e.g. ``domain:xn--bcher-kva.de``
* ``url:<host>[:<port>]<path>[?<query>]``     e.g. ``url:www.contoh.co.id/berita?id=7``
  (no scheme: the same page over http and https is one item; see ``url.py``)
* ``telegram:channel/<username>``             lower-case username
* ``telegram:post/<username>/<message id>``
* ``telegram:invite/<hash>``                  hash kept case-sensitive, as Telegram treats it
* ``telegram:private/<channel id>/<message id>``

Two locators are equal exactly when their ``kind`` and ``canonical`` are equal; ``display``
and ``url`` are presentation and may differ (e.g. http vs https) without changing identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tangkal.locators.domain import Domain

__all__ = ["CANONICAL_PREFIXES", "Locator", "LocatorKind"]


class LocatorKind(StrEnum):
    """What sort of thing a locator names; the values are stored, so never rename them."""

    DOMAIN = "domain"
    URL = "url"
    TELEGRAM_CHANNEL = "telegram_channel"
    TELEGRAM_POST = "telegram_post"
    TELEGRAM_INVITE = "telegram_invite"
    TELEGRAM_PRIVATE_POST = "telegram_private_post"


CANONICAL_PREFIXES: dict[LocatorKind, str] = {
    LocatorKind.DOMAIN: "domain:",
    LocatorKind.URL: "url:",
    LocatorKind.TELEGRAM_CHANNEL: "telegram:channel/",
    LocatorKind.TELEGRAM_POST: "telegram:post/",
    LocatorKind.TELEGRAM_INVITE: "telegram:invite/",
    LocatorKind.TELEGRAM_PRIVATE_POST: "telegram:private/",
}

_TELEGRAM_KINDS = frozenset(
    {
        LocatorKind.TELEGRAM_CHANNEL,
        LocatorKind.TELEGRAM_POST,
        LocatorKind.TELEGRAM_INVITE,
        LocatorKind.TELEGRAM_PRIVATE_POST,
    }
)


@dataclass(frozen=True, slots=True)
class Locator:
    """A validated, canonicalised pointer to content; build it with ``parse_locator``.

    Fields:
        kind: the sort of item.
        canonical: the identity key (formats in the module docstring).
        display: a human form (U-labels, ``t.me/...``); parsing it again gives the same key.
        domain: the host the content lives on (``t.me`` for Telegram); None for an IP host.
        url: a clickable https/http form, or None for a bare domain.
        channel: Telegram username (lower-case), or the numeric id of a private channel.
        post: Telegram message id for posts.
        invite: Telegram invite hash (case-sensitive) for invite links.
    """

    kind: LocatorKind
    canonical: str
    display: str = field(compare=False)
    domain: Domain | None = field(default=None, compare=False)
    url: str | None = field(default=None, compare=False)
    channel: str | None = field(default=None, compare=False)
    post: int | None = field(default=None, compare=False)
    invite: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Cheap invariants so that a hand-built Locator cannot silently carry a key of the
        # wrong kind into the database; full validation is parse_locator's job.
        prefix = CANONICAL_PREFIXES[self.kind]
        if not self.canonical.startswith(prefix) or len(self.canonical) == len(prefix):
            raise ValueError(f"canonical {self.canonical!r} does not fit kind {self.kind}")
        if self.kind in (LocatorKind.TELEGRAM_POST, LocatorKind.TELEGRAM_PRIVATE_POST) and (
            self.channel is None or self.post is None
        ):
            raise ValueError(f"a {self.kind} needs channel and post")

    def __str__(self) -> str:
        return self.canonical

    @property
    def item_key(self) -> str:
        """The identity key of the item itself (same as ``canonical``)."""
        return self.canonical

    @property
    def is_telegram(self) -> bool:
        return self.kind in _TELEGRAM_KINDS

    @property
    def channel_key(self) -> str | None:
        """Key of the Telegram channel this item belongs to, if any.

        For a public post or channel this is a real ``telegram:channel/...`` canonical.
        For a private post it is ``telegram:private/<id>``: a grouping key only, since a
        private channel without a message cannot be linked to and is not a locator.
        """
        if self.kind in (LocatorKind.TELEGRAM_CHANNEL, LocatorKind.TELEGRAM_POST):
            return f"telegram:channel/{self.channel}"
        if self.kind is LocatorKind.TELEGRAM_PRIVATE_POST:
            return f"telegram:private/{self.channel}"
        return None

    def related_keys(self) -> tuple[str, ...]:
        """Keys of the broader items that contain this one, nearest first, excluding itself.

        Used to find "earlier orders about the same channel / site". A Telegram post relates
        to its channel; a URL to its host and enclosing names up to the registrable domain;
        a domain to its enclosing names up to the registrable domain. Telegram items do not
        relate to ``domain:t.me``: that would make every Telegram item related to every other.
        """
        if self.is_telegram:
            key = self.channel_key
            return (key,) if key is not None and key != self.canonical else ()
        if self.domain is None:
            return ()
        keys: list[str] = []
        if self.kind is LocatorKind.URL:
            keys.append(f"domain:{self.domain.name}")
        keys.extend(f"domain:{d.name}" for d in self.domain.ancestors())
        return tuple(keys)
