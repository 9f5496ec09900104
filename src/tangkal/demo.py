"""``tangkal demo``: the July 2017 Telegram case, loaded into the configured database.

The ministry, Telegram with the eleven web names that were blocked, two ISPs, people and
tokens for each, and orders at different states, so every screen has something true to show.
Passwords and tokens are generated fresh and printed once: even the demo has no well-known
secret.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.errors import Conflict
from tangkal.orders import services as orders
from tangkal.orders.schemas import OrderIn, ResponseIn

TELEGRAM_NAMES = [
    "t.me",
    "telegram.me",
    "telegram.org",
    "core.telegram.org",
    "desktop.telegram.org",
    "macos.telegram.org",
    "web.telegram.org",
    "venus.web.telegram.org",
    "pluto.web.telegram.org",
    "flora.web.telegram.org",
    "flora-1.web.telegram.org",
]
LEGAL_BASIS = (
    "UU 11/2008 jo. UU 19/2016 (ITE) Pasal 40 ayat 2a dan 2b; Permenkominfo 5/2020 Pasal 9 dan 15"
)


def _principal(org: Organization, role: Role, username: str) -> Principal:
    return Principal(
        org_id=org.id, org_name=org.name, org_kind=org.kind, role=role, username=username
    )


def load_demo(session: Session) -> list[str]:
    if session.scalar(select(Organization.id).where(Organization.name == "kominfo")):
        raise Conflict(
            "The demo is already loaded in this database (organisation 'kominfo' "
            "exists). Point TANGKAL_DATABASE_URL at a fresh database to load it again."
        )
    kominfo = accounts.create_org(
        session,
        SYSTEM,
        kind=OrgKind.REGULATOR,
        name="kominfo",
        display_name="Kementerian Komunikasi dan Informatika",
        contact_email="aduankonten@example.go.id",
    )
    telegram = accounts.create_org(
        session,
        SYSTEM,
        kind=OrgKind.PLATFORM,
        name="telegram",
        display_name="Telegram Messenger",
        domains=["t.me", "telegram.me", "telegram.org"],
        contact_name="Abuse desk",
        contact_email="abuse@example.org",
    )
    isps = [
        accounts.create_org(session, SYSTEM, kind=OrgKind.ISP, name=n, display_name=d)
        for n, d in (("isp-nusantara", "ISP Nusantara"), ("isp-merdeka", "ISP Merdeka"))
    ]

    people = [
        (kominfo, "analis", Role.ANALYST),
        (kominfo, "pejabat", Role.OFFICIAL),
        (kominfo, "pejabat2", Role.OFFICIAL),
        (kominfo, "auditor", Role.AUDITOR),
        (telegram, "moderator", Role.MODERATOR),
        (isps[0], "operator", Role.ISP),
        (isps[1], "operator", Role.ISP),
    ]
    lines = [
        "tangkal demo: the July 2017 Telegram case is loaded.",
        "",
        "Sign in at /login (organisation / user / password):",
    ]
    tokens = []
    for org, username, role in people:
        password = secrets.token_urlsafe(12)
        accounts.create_user(session, SYSTEM, org, username=username, role=role, password=password)
        lines.append(f"  {org.name:14} {username:10} {password}   ({role.value})")
        tokens.append((org, role, accounts.create_token(session, SYSTEM, org, role, label="demo")))
    lines += ["", "API tokens (Authorization: Bearer ...):"]
    lines += [f"  {org.name:14} {role.value:10} {tok}" for org, role, tok in tokens]

    analyst = _principal(kominfo, Role.ANALYST, "analis")
    moderator = _principal(telegram, Role.MODERATOR, "moderator")

    def file(locators: list[str], category: str, reason: str) -> str:
        o = orders.file_order(
            session,
            analyst,
            OrderIn(
                platform="telegram",
                category=category,
                locators=locators,
                legal_basis=LEGAL_BASIS,
                reason=reason,
            ),
        )
        return o.id

    # 1. answered: the channels reported in July 2017, removed
    done = file(
        ["https://t.me/s/contoh_kanal_propaganda/101", "t.me/contoh_kanal_propaganda"],
        "terrorism",
        "Public channel distributing bomb-making instructions.",
    )
    orders.acknowledge(session, moderator, done)
    orders.respond(
        session,
        moderator,
        done,
        ResponseIn(
            action="removed",
            statement="The channel and its posts were removed for Indonesia "
            "and worldwide under our terms on terrorist content.",
        ),
    )
    # 2. acknowledged, the clock running
    ack = file(
        ["tg://resolve?domain=contoh_kanal_serangan&post=7"],
        "terrorism",
        "Instructions for an attack on a public place.",
    )
    orders.acknowledge(session, moderator, ack)
    # 3. a clarification asked: the clock paused
    clar = file(
        ["t.me/+ContohUndanganGrup01"],
        "radicalism",
        "Private group recruiting for a banned organisation.",
    )
    orders.request_clarification(
        session,
        moderator,
        clar,
        "The invite link has expired; can you share the group's numeric id or a screenshot?",
    )
    # 4. just issued, waiting for the platform
    file(
        ["https://t.me/contoh_hoaks_bencana/2210"],
        "disinformation",
        "A fabricated evacuation order during a flood.",
    )
    # The eleven web names of 14 July 2017: a whole-service block, so two officials approve.
    from tangkal.blocklist import services as blocks

    official = _principal(kominfo, Role.OFFICIAL, "pejabat")
    second = _principal(kominfo, Role.OFFICIAL, "pejabat2")
    for name in TELEGRAM_NAMES:
        entry, _ = blocks.create_block(
            session,
            official,
            blocks.BlockRequest.build(
                domain=name,
                action="landing",
                legal_basis=LEGAL_BASIS,
                category="terrorism",
                reason="Six requests since March 2016 to remove terrorist propaganda went "
                "unanswered; access blocked pending a joint procedure (14 July 2017).",
            ),
        )
        if entry.status.value == "pending_approval":
            blocks.approve(session, second, entry.id)
    lines += [
        "",
        "Orders: 4 (complied, acknowledged, clarification requested, issued).",
        "Blocked, as on 14 July 2017 (landing page, approved by two officials): "
        + ", ".join(TELEGRAM_NAMES),
        "Restore them (normalisasi) from the console or: tangkal block restore ID --reason ...",
        "",
        "Start the server with:  tangkal serve   then open http://127.0.0.1:8080/",
    ]
    return lines
