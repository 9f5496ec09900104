"""``tangkal demo``: the July 2017 Telegram case, loaded into the configured database.

The ministry, Telegram with the eleven web names that were blocked, two ISPs, people and
tokens for each, and orders at different states, so every screen has something true to show.
The procedure of July 2017 is run through the real services on a clock set back three days:
the unanswered urgent orders get ST1, ST2 with its fine and ST3 one deadline interval apart,
the escalation proposes the sanction over the eleven names, two officials approve it, Telegram
objects to the fine, and asks for normalisation with the ministry's four conditions (pending,
its 2x24 h clock running from now). The audit record says when each event was recorded (at
load time); the rows carry the procedure's own times.
Passwords and tokens are generated fresh and printed once: even the demo has no well-known
secret.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.errors import Conflict
from tangkal.orders import services as orders
from tangkal.orders.schemas import OrderIn, ResponseIn

#: The 11 web names Indonesia blocked on 14 July 2017 (the demo, drill tests and benches).
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


def _principal(
    org: Organization, role: Role, username: str, user_id: str | None = None
) -> Principal:
    return Principal(
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=role,
        username=username,
        user_id=user_id,
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
        domains=TELEGRAM_NAMES,
        contact_name="Abuse desk",
        contact_email="abuse@example.org",
    )
    isps = [
        accounts.create_org(session, SYSTEM, kind=OrgKind.ISP, name=n, display_name=d)
        for n, d in (("isp-nusantara", "ISP Nusantara"), ("isp-merdeka", "ISP Merdeka"))
    ]

    people = [
        (kominfo, "analis", Role.ANALYST, "Analis Satu"),
        (kominfo, "pejabat", Role.OFFICIAL, "Pejabat Satu"),
        (kominfo, "pejabat2", Role.OFFICIAL, "Pejabat Dua"),
        (kominfo, "auditor", Role.AUDITOR, "Auditor Satu"),
        (telegram, "moderator", Role.MODERATOR, "Moderator Telegram"),
        (isps[0], "operator", Role.ISP, "Operator Nusantara"),
        (isps[1], "operator", Role.ISP, "Operator Merdeka"),
    ]
    lines = [
        "tangkal demo: the July 2017 Telegram case is loaded.",
        "",
        "Sign in at /login (organisation / user / password):",
    ]
    tokens = []
    users = {}
    for org, username, role, display_name in people:
        password = secrets.token_urlsafe(12)
        user = accounts.create_user(
            session,
            SYSTEM,
            org,
            username=username,
            role=role,
            password=password,
            display_name=display_name,
        )
        users[(org.name, username)] = user.id
        lines.append(f"  {org.name:14} {username:10} {password}   ({role.value})")
        tokens.append(
            (org, role, accounts.create_token(session, SYSTEM, org, role, user=user, label="demo"))
        )
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
    summary = _procedure(session, kominfo, telegram, users, file)
    lines += [
        "",
        "Orders: 6 (complied, acknowledged, clarification requested, issued, and two urgent",
        "orders Telegram never answered: ST1, ST2 with its fine and ST3 one deadline apart).",
        f"Sanction {summary['sanction']} over the eleven names of 14 July 2017 (landing page),",
        "proposed by the escalation and approved by two officials (pejabat, pejabat2): "
        + ", ".join(TELEGRAM_NAMES),
        f"Objection {summary['objection']}: Telegram contests the ST2 fine (pending).",
        f"Normalisation {summary['normalisation']}: Telegram asks for access to be restored with "
        "the four conditions of 2017; decide it within 2x24 h in the console.",
        "",
        "Start the server with:  tangkal serve   then open http://127.0.0.1:8080/",
        "",
        "Watch a drill escalation live (Indonesia's procedure 3600 times faster: a 4 h",
        "deadline is 4 s, ST1-ST3 and the sanction follow 4 s apart):",
        "  tangkal sop derive indonesia --speed 3600 --name indonesia-drill > drill.toml",
        "  TANGKAL_SOP_PROFILE=drill.toml tangkal serve",
        "  then file an urgent order (category terrorism) to telegram and watch its page.",
    ]
    return lines


def _procedure(
    session: Session,
    kominfo: Organization,
    telegram: Organization,
    users: dict[tuple[str, str], str],
    file: Any,
) -> dict[str, str]:
    """July 2017 through the real services, on a clock set back three days."""
    from tangkal.db.base import utcnow
    from tangkal.normalisation import services as normalisation
    from tangkal.objections import services as objections
    from tangkal.orders.escalation import run_due
    from tangkal.orders.models import Order
    from tangkal.sanctions import services as sanctions

    now = utcnow()
    start = now - timedelta(days=3)
    unanswered = [
        file(
            ["https://t.me/s/contoh_kanal_propaganda_2/55"],
            "terrorism",
            "Public channel with attack instructions; reported six times since March 2016.",
        ),
        file(
            ["https://t.me/contoh_kanal_rakit_bom/12", "https://t.me/contoh_kanal_rakit_bom/13"],
            "terrorism",
            "Bomb-making manuals posted in a public channel.",
        ),
    ]
    for oid in unanswered:  # filed three days ago; nobody fetched them
        order = session.get(Order, oid)
        assert order is not None
        shift = now - start
        order.issued_at -= shift
        order.deadline_at -= shift
        order.next_due_at = order.issued_at + timedelta(hours=24)
    session.flush()
    # the scheduler as it would have run, hour by hour, up to now
    t = start
    while t <= now:
        run_due(session, t)
        t += timedelta(minutes=30)
    run_due(session, now)
    sanction = sanctions.list_for(
        session, _principal(kominfo, Role.OFFICIAL, "pejabat"), platform="telegram"
    )[0]
    approved_at = sanction.proposed_at + timedelta(hours=2)
    for username in ("pejabat", "pejabat2"):
        sanctions.approve(
            session,
            _principal(kominfo, Role.OFFICIAL, username, users[("kominfo", username)]),
            sanction.id,
            now=approved_at,
        )
        approved_at += timedelta(minutes=20)
    moderator = _principal(telegram, Role.MODERATOR, "moderator", users[("telegram", "moderator")])
    order = session.get(Order, unanswered[0])
    assert order is not None
    st2 = next(s for s in order.steps if s.code == "ST2")
    objection = objections.file(
        session,
        moderator,
        kind="fine",
        subject_id=st2.id,
        reason="No request reached our abuse desk before the block: the ministry wrote to an "
        "address nobody read. We ask that the fine be annulled.",
        evidence=["Our abuse desk's logs for March 2016 - July 2017"],
    )
    request = normalisation.request(
        session,
        moderator,
        reason="The reported channels were removed on 16-17 July; we accept "
        "the ministry's four conditions.",
        conditions={
            "government_channel": "A direct line for Kominfo, answered within the hour.",
            "trusted_flagger": "Kominfo's reports go to a priority queue (trusted flagger).",
            "local_representative": "A representative in Jakarta, named to the ministry.",
            "filtering_governance": "An Indonesian-speaking moderation team and a written "
            "process for the ministry's reports.",
        },
    )
    return {
        "sanction": sanction.reference,
        "objection": objection.reference,
        "normalisation": request.reference,
    }
