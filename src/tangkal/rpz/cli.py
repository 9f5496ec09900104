"""Commands ``tangkal tsig``, ``tangkal subscriber`` and ``tangkal rpz``.

They hang off one Typer registered without a group name, so the interface contract's three
top-level groups come from one entry in ``COMMAND_GROUPS``.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from tangkal.accounts.principal import SYSTEM
from tangkal.cli.common import database, friendly, unit_of_work
from tangkal.errors import InvalidInput
from tangkal.rpz import formats, services
from tangkal.rpz.journal import RpzAction, ZoneChange, prune_journal, publish
from tangkal.rpz.reader import read_snapshot
from tangkal.rpz.values import Landing
from tangkal.settings import get_settings

out = Console()
app = typer.Typer(no_args_is_help=True)
tsig_app = typer.Typer(
    help="TSIG keys with which ISPs sign their zone transfers.", no_args_is_help=True
)
subscriber_app = typer.Typer(
    help="Resolvers that follow the RPZ (NOTIFY targets).", no_args_is_help=True
)
rpz_app = typer.Typer(help="The blocklist as a DNS Response Policy Zone.", no_args_is_help=True)
app.add_typer(tsig_app, name="tsig")
app.add_typer(subscriber_app, name="subscriber")
app.add_typer(rpz_app, name="rpz")


@tsig_app.command("create")
@friendly
def tsig_create(org: str = typer.Option(..., "--org", help="ISP organisation name")) -> None:
    """Make an hmac-sha256 key; prints one line 'KEYNAME SECRET' (the secret is shown once)."""
    with unit_of_work() as session:
        key, secret = services.create_tsig_key(session, SYSTEM, org)
        name = key.name
    sys.stdout.write(f"{name} {secret}\n")


@subscriber_app.command("add")
@friendly
def subscriber_add(
    org: str = typer.Option(..., "--org", help="ISP organisation name"),
    notify: str = typer.Option(..., "--notify", help="HOST:PORT that gets NOTIFY"),
    allow_ip: list[str] = typer.Option(
        [], "--allow-ip", help="CIDR allowed to transfer without TSIG (repeatable)"
    ),
    key: str | None = typer.Option(
        None, "--key", help="the one TSIG key (of this ISP) it signs with"
    ),
    transfer_from: str | None = typer.Option(
        None,
        "--transfer-from",
        help="IP or IP:PORT its transfers come from (BIND "
        "transfer-source, Knot via): tells it apart from others sharing a key or address",
    ),
) -> None:
    """Register a resolver: NOTIFY goes to it on every change; --allow-ip admits unsigned
    transfers from those addresses (for resolvers that cannot sign, such as Unbound).
    --key and --transfer-from let the server credit its transfers to it and not to another
    subscriber sharing the ISP's key or the address (docs/rpz-subscribers.md)."""
    with unit_of_work() as session:
        sub = services.add_subscriber(
            session, SYSTEM, org, notify, allow_ip, key_name=key, transfer_from=transfer_from
        )
        out.print(
            f"subscriber {sub.id} for {org}: NOTIFY {sub.notify_host}:{sub.notify_port}"
            + (f", unsigned transfers from {', '.join(sub.allow_ips)}" if sub.allow_ips else "")
            + (f", key {sub.tsig_key_name}" if sub.tsig_key_name else "")
            + (f", transfers from {transfer_from}" if transfer_from else ""),
            highlight=False,
        )


@subscriber_app.command("list")
@friendly
def subscriber_list() -> None:
    """Every subscriber with the serial it last transferred and its lag."""
    with read_snapshot(database()) as session:
        for st in services.subscriber_status(session):
            lag = (
                "never transferred"
                if st.last_serial is None
                else (
                    "up to date"
                    if not st.changesets_behind
                    else f"{st.changesets_behind} change sets behind since {st.behind_since}"
                )
            )
            out.print(
                f"{st.org:24} {st.notify:22} serial {st.last_serial} "
                f"({st.last_transfer_kind or '-'} at {st.last_transfer_at}) {lag}"
                f"{_group_note(st)}",
                highlight=False,
            )


def _group_note(st: services.SubscriberStatus) -> str:
    """Why a subscriber's serial is its group's (docs/rpz-subscribers.md), or nothing."""
    if st.group is None:
        return ""
    # no square brackets: the console would read them as markup and drop them
    return (
        f"; credited as a group with {st.group.size - 1} other(s) it cannot be told apart "
        f"from, {st.group.holding_current} of {st.group.size} hold the current serial"
    )


@rpz_app.command("export")
@friendly
def rpz_export(
    fmt: str = typer.Option("rpz", "--format", help="one of: " + formats.names_help()),
) -> None:
    """The current list on stdout, streamed (millions of names never sit in memory)."""
    fmt = formats.get_format(fmt).name
    stream = sys.stdout.buffer
    for piece in services.export_stream(database(), get_settings(), fmt):
        stream.write(piece)
    stream.flush()


@rpz_app.command("status")
@friendly
def rpz_status() -> None:
    """Serial, size, journal reach, and each subscriber's serial and lag."""
    with read_snapshot(database()) as session:
        status = services.zone_status(session, get_settings())
        subs = services.subscriber_status(session)
    out.print(
        f"zone {status['zone']} serial {status['serial']}: {status['names']} names; "
        f"journal {status['journal_changesets']} change sets since "
        f"{status['journal_from']}",
        highlight=False,
    )
    for st in subs:
        lag = (
            "never transferred"
            if st.last_serial is None
            else (
                "up to date"
                if not st.changesets_behind
                else f"{st.changesets_behind} behind since {st.behind_since}"
            )
        )
        out.print(
            f"  {st.org:24} {st.notify:22} serial {st.last_serial} "
            f"{st.last_transfer_kind or '-'} {lag}{_group_note(st)}",
            highlight=False,
        )


@rpz_app.command("publish")
@friendly
def rpz_publish(
    name: list[str] = typer.Argument(..., help="Domain names"),
    action: str = typer.Option(
        "nxdomain", "--action", help="nxdomain, nodata, landing, passthru, or remove"
    ),
    reason: str = typer.Option(..., "--reason"),
    landing: str | None = typer.Option(
        None,
        "--landing",
        help="with --action landing: a landing of their own, cname:<name> or "
        "a:<ipv4>,aaaa:<ipv6> (default: TANGKAL_RPZ_LANDING)",
    ),
) -> None:
    """Change the zone directly (operators and tests). Blocks decided through the blocklist
    go through 'tangkal block' instead, which keeps their legal basis and approvals."""
    from tangkal.audit.services import record
    from tangkal.locators import Domain

    act = None if action == "remove" else RpzAction(action) if action in set(RpzAction) else None
    if action != "remove" and act is None:
        raise InvalidInput(f"Unknown action {action!r}.", field="action")
    own = Landing.parse(landing, field="landing") if landing else None
    changes = [ZoneChange(Domain.parse(n).name, act, own) for n in name]
    with unit_of_work() as session:
        serial = publish(session, changes, reason=reason)
        record(
            session,
            SYSTEM,
            "rpz.publish",
            "rpz_zone",
            str(serial),
            {
                "names": [c.name for c in changes],
                "action": action,
                "landing": own.text() if own else None,
                "reason": reason,
            },
        )
    out.print(f"serial {serial}", highlight=False)


@rpz_app.command("prune")
@friendly
def rpz_prune(keep_days: int = typer.Option(90, "--keep-days", min=30)) -> None:
    """Drop journal entries older than --keep-days (at least 30)."""
    with unit_of_work() as session:
        gone = prune_journal(session, keep_days=keep_days)
    out.print(f"pruned {gone} change sets")
