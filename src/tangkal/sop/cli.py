"""``tangkal sop show``: validate and print an SOP profile."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from tangkal.cli.common import friendly
from tangkal.settings import get_settings
from tangkal.sop.profile import load_profile, shipped_profiles

app = typer.Typer(
    help="SOP profiles: deadlines, warnings, fines and approvals.", no_args_is_help=True
)
out = Console()


@app.command("show")
@friendly
def show(
    name: str | None = typer.Argument(
        None, help="A shipped profile name or a .toml path; default: TANGKAL_SOP_PROFILE"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Validate a profile and print it; exits non-zero naming the problem if it is invalid."""
    profile = load_profile(name or get_settings().sop_profile)
    info = profile.describe()
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    out.print(
        f"[bold]{profile.title}[/] ({profile.name}, {profile.jurisdiction}) — valid",
        highlight=False,
    )
    out.print(
        f"deadlines: {info['deadlines']}; deemed receipt after {info['deemed_receipt_after']}",
        highlight=False,
    )
    if profile.warnings:
        out.print(
            "escalation: "
            + " → ".join(
                f"{w['code']}" + (f" (fine {w['fine']:,} {profile.currency})" if w["fine"] else "")
                for w in info["warnings"]
            )
            + f", every {info['warning_interval']}"
            + (", then access blocking" if profile.block_after_warnings else ""),
            highlight=False,
        )
    table = Table("category", "urgency", "label (id)", "legal basis")
    for key, c in info["categories"].items():
        table.add_row(key, c["urgency"], c["label_id"], c["legal_basis"])
    out.print(table)


@app.command("list")
def list_profiles() -> None:
    """The shipped profiles."""
    for n in shipped_profiles():
        out.print(n)
