"""Commands ``tangkal resolver`` (resolvers to probe) and ``tangkal compliance`` (rounds and
results); one Typer without a group name, so both come from one entry in ``COMMAND_GROUPS``.
"""

from __future__ import annotations

import asyncio
import json
import sys

import typer
from rich.console import Console

from tangkal.accounts.principal import SYSTEM
from tangkal.cli.common import database, friendly, unit_of_work
from tangkal.compliance import services
from tangkal.errors import InvalidInput
from tangkal.locators import Domain
from tangkal.settings import get_settings

out = Console(highlight=False)
app = typer.Typer(no_args_is_help=True)
resolver_app = typer.Typer(
    help="Resolvers whose answers are probed (ISPs' and controls).", no_args_is_help=True
)
compliance_app = typer.Typer(help="Probe rounds and what they found.", no_args_is_help=True)
app.add_typer(resolver_app, name="resolver")
app.add_typer(compliance_app, name="compliance")


@resolver_app.command("add")
@friendly
def resolver_add(
    address: str = typer.Option(..., "--address", help="IP or IP:PORT ([v6]:PORT)"),
    org: str | None = typer.Option(None, "--org", help="The ISP whose resolver it is"),
    control: bool = typer.Option(
        False, "--control", help="An unfiltered control resolver (no --org)"
    ),
    name: str | None = typer.Option(None, "--name", help="How results name it"),
) -> None:
    """Register a resolver to probe: an ISP's (--org) or an unfiltered control (--control)."""
    if not control and not org:
        raise InvalidInput(
            "Give --org ISP_NAME for an ISP's resolver, or --control for an "
            "unfiltered control resolver.",
            field="org",
        )
    with unit_of_work() as session:
        view = services.add_resolver(
            session, SYSTEM, address=address, org=org, control=control, name=name
        )
    whose = "control resolver" if view.control else f"resolver of {view.isp}"
    out.print(f"{whose} {view.id}: {view.name} at {view.address}")


@resolver_app.command("list")
@friendly
def resolver_list() -> None:
    """Every registered resolver, with the policy zone's serial it answers and its lag."""
    with database().read_only() as session:
        views = services.list_resolvers(session, SYSTEM)
    for v in views:
        lag = "no SOA answer" if v.serial is None else f"serial {v.serial} lag {v.serial_lag}"
        owner = "control" if v.control else (v.isp or "?")
        note = f"  FILTERING {v.filtering}" if v.filtering else ""
        out.print(f"{v.id}  {owner:24} {v.name:24} {v.address:24} {lag}{note}")


@resolver_app.command("remove")
@friendly
def resolver_remove(resolver_id: str = typer.Argument(..., help="The resolver's id")) -> None:
    """Stop probing a resolver (its history is kept)."""
    with unit_of_work() as session:
        view = services.remove_resolver(session, SYSTEM, resolver_id)
    out.print(f"removed {view.name} at {view.address}")


@compliance_app.command("probe")
@friendly
def compliance_probe(
    domain: list[str] = typer.Option(
        [], "--domain", help="Names to probe (repeatable); default: the periodic round's"
    ),
) -> None:
    """Run one probe round now and print its summary (JSON)."""
    names = [Domain.parse(d).name for d in domain]
    summary = asyncio.run(services.manual_round(database(), get_settings(), names))
    sys.stdout.write(json.dumps(summary.as_dict(), indent=2) + "\n")


@compliance_app.command("show")
@friendly
def compliance_show(
    domain: str | None = typer.Option(None, "--domain"),
    isp: str | None = typer.Option(None, "--isp"),
    state: str | None = typer.Option(
        None, "--state", help="compliant, not_compliant or unreachable"
    ),
) -> None:
    """The current result per ISP, resolver and name."""
    with database().read_only() as session:
        items = services.compliance_items(session, SYSTEM, domain=domain, isp=isp, state=state)
        warnings = services.control_warnings(session, SYSTEM)
    for i in items:
        lag = "" if i["serial_lag"] is None else f" lag {i['serial_lag']}"
        flag = f" ESCALATED {i['escalated_at']}" if i.get("escalated_at") else ""
        out.print(
            f"{i['isp']:20} {i['resolver']:22} {i['domain']:32} {i['state']:14} "
            f"expected {i['expected']:8} observed {i['observed']} since {i['since']}"
            f"{lag}{flag}"
        )
    for w in warnings:
        out.print(f"warning: {w}")
