"""Small, pure helpers the console pages share: the navigation each role sees, how close a
hash match is in words, and reading the WIB date-times people type into forms.

Kept apart from the routes so they can be tested without a server, and so every page
decides the same way (a moderator must not see a "Blocks" link on one page and not another).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.errors import InvalidInput, Msg
from tangkal.web.i18n import page_zone


def N_(message: str) -> str:
    """Marks a message for the catalogue; the template translates it when it shows it."""
    return message


# ------------------------------------------------------------------ navigation


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str  # an untranslated catalogue message
    prefixes: tuple[str, ...]  # paths under which this item is the current one
    exclude: tuple[str, ...] = ()

    def current(self, path: str) -> bool:
        if path in self.exclude:
            return False
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)


_FILERS = (Role.ANALYST, Role.OFFICIAL)
_BANK_USERS = (Role.ANALYST, Role.OFFICIAL, Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
#: the regulator's people who follow the procedure (officials decide; the others read)
_PROCEDURE = (Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
#: a platform's people who object and ask for normalisation
_PLATFORM_ACTORS = (Role.MODERATOR, Role.ADMIN)


def nav_items(principal: Principal | None) -> list[NavItem]:
    """The console sections this person may use; the services refuse the rest anyway, the
    header only avoids offering a door that would answer 403."""
    if principal is None:
        return []
    kind, role = principal.org_kind, principal.role
    items: list[NavItem] = []
    if kind is OrgKind.PLATFORM:
        items.append(NavItem("/console/orders", N_("Inbox"), ("/console/orders",)))
        items.append(NavItem("/console/sanctions", N_("Sanctions"), ("/console/sanctions",)))
        if role in _PLATFORM_ACTORS:
            items.append(NavItem("/console/objections", N_("Objections"), ("/console/objections",)))
            items.append(
                NavItem(
                    "/console/normalisations", N_("Normalisation"), ("/console/normalisations",)
                )
            )
        items.append(NavItem("/console/cases", N_("Case file"), ("/console/cases",)))
    if kind is OrgKind.REGULATOR:
        items.append(
            NavItem(
                "/console/orders",
                N_("Orders"),
                ("/console/orders",),
                exclude=("/console/orders/new",),
            )
        )
        if role in _FILERS:
            items.append(NavItem("/console/orders/new", N_("New order"), ("/console/orders/new",)))
        if role in _PROCEDURE:
            items.append(
                NavItem(
                    "/console/escalations",
                    N_("Escalations"),
                    ("/console/escalations", "/console/sanctions"),
                )
            )
            items.append(NavItem("/console/objections", N_("Objections"), ("/console/objections",)))
            items.append(
                NavItem(
                    "/console/normalisations", N_("Normalisation"), ("/console/normalisations",)
                )
            )
            items.append(NavItem("/console/cases", N_("Case files"), ("/console/cases",)))
        items.append(
            NavItem("/console/blocks", N_("Blocks"), ("/console/blocks", "/console/protected"))
        )
        if role in (Role.OFFICIAL, Role.ANALYST, Role.AUDITOR, Role.ADMIN):
            items.append(NavItem("/console/appeals", N_("Appeals"), ("/console/appeals",)))
    if kind in (OrgKind.REGULATOR, OrgKind.PLATFORM) and role in _BANK_USERS:
        items.append(NavItem("/console/banks", N_("Hash banks"), ("/console/banks",)))
        items.append(NavItem("/console/match", N_("Match a file"), ("/console/match",)))
    if (kind is OrgKind.REGULATOR and role in _PROCEDURE) or (
        kind is OrgKind.ISP and role in (Role.ISP, Role.ADMIN)
    ):
        items.append(NavItem("/console/compliance", N_("Compliance"), ("/console/compliance",)))
    if kind in (OrgKind.REGULATOR, OrgKind.ISP):
        items.append(NavItem("/console/rpz", N_("RPZ status"), ("/console/rpz",)))
    return items


# ------------------------------------------------------------------ hash matches


@dataclass(frozen=True, slots=True)
class Closeness:
    label: str  # untranslated catalogue message
    level: str  # css modifier: exact, very-close, close, far
    percent: int  # 0..100, how full the closeness bar is drawn


def closeness(signal_type: str, distance: int, threshold: int | None = None) -> Closeness:
    """A match's distance in words a moderator reads at a glance, by the type's own scale
    (:meth:`~tangkal.hashing.signals.SignalType.closeness` and ``very_close``): PDQ's at most
    10 bits is, in practice, the same picture re-encoded or resized; up to the bank's threshold
    is a likely copy that deserves a look. Exact types match only exactly.
    """
    from tangkal.hashing import signals

    st = signals.get(signal_type)
    d = max(0, int(distance))
    if st.exact:
        return Closeness(N_("exact copy"), "exact", 100)
    if d == 0:
        return Closeness(N_("identical"), "exact", 100)
    pct = st.closeness(d, threshold)
    if d <= st.very_close:
        return Closeness(N_("very close"), "very-close", pct)
    return Closeness(N_("similar"), "close", pct)


def short_signal(signal: str, keep: int = 16) -> str:
    """Long hashes shortened for tables; the full value stays in the title attribute."""
    return signal if len(signal) <= keep + 1 else signal[:keep] + "…"


# ------------------------------------------------------------------ form values


def parse_wib(text: str | None, field: str) -> datetime | None:
    """A browser's ``datetime-local`` value (no zone), read in the SOP profile's time zone
    (WIB for Indonesia), since every time on these pages is shown in it; an explicit offset
    is honoured."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            Msg("Give the date and time as YYYY-MM-DD HH:MM (WIB), e.g. 2017-08-10 12:00."),
            field=field,
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=page_zone())
    return dt.astimezone(UTC)
