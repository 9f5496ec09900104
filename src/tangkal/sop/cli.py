"""``tangkal sop show`` and ``tangkal sop derive``: validate, print and derive SOP profiles."""

from __future__ import annotations

import json
import sys

import tomli_w
import typer
from rich.console import Console
from rich.table import Table

from tangkal.cli.common import friendly
from tangkal.settings import get_settings
from tangkal.sop.profile import format_duration, read_profile, shipped_profiles

app = typer.Typer(
    help="SOP profiles: deadlines, escalation steps, fines, objections, normalisation.",
    no_args_is_help=True,
)
out = Console()


@app.command("show")
@friendly
def show(
    name: str | None = typer.Argument(
        None, help="A shipped profile name or a .toml path; default: TANGKAL_SOP_PROFILE"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    as_toml: bool = typer.Option(False, "--toml", help="Print the complete profile as TOML."),
) -> None:
    """Validate a profile and print it; exits non-zero naming the file, key and reason."""
    profile = read_profile(name or get_settings().sop_profile)
    if as_json:
        typer.echo(json.dumps(profile.describe(), indent=2, ensure_ascii=False))
        return
    if as_toml:
        sys.stdout.write(tomli_w.dumps(profile.document()))
        return
    out.print(
        f"[bold]{profile.title}[/] ({profile.name}, {profile.jurisdiction}, "
        f"{profile.timezone}) — valid",
        highlight=False,
    )
    deadlines = ", ".join(f"{k} {format_duration(v)}" for k, v in profile.deadlines.items())
    out.print(
        f"deadlines: {deadlines}; deemed receipt after "
        f"{format_duration(profile.deemed_receipt_after)}",
        highlight=False,
    )
    steps = Table("step", "kind", "waits", "fine", "label (id)", title="escalation")
    for i, s in enumerate(profile.steps):
        if s.wait is None or s.wait == "interval":
            wait = "at the deadline" if i == 0 and s.wait is None else "one deadline interval"
        elif isinstance(s.wait, dict):
            wait = ", ".join(f"{k} {format_duration(v)}" for k, v in s.wait.items())
        else:
            wait = format_duration(s.wait)
        fine = ""
        if s.fine is not None:
            fine = f"{s.fine.amount:,} {profile.currency} ({s.fine.rule.replace('_', ' ')}"
            fine += f", cap {s.fine.cap:,})" if s.fine.cap is not None else ")"
        steps.add_row(s.code, s.kind, wait, fine, s.label_id)
    out.print(steps)
    n = profile.normalisation
    out.print(
        f"objections: filed within {format_duration(profile.objections.file_within)}, "
        f"decided within {format_duration(profile.objections.decide_within)}; "
        f"sanctions: {profile.sanctions.officials} officials, "
        f"{profile.sanctions.action}; normalisation decided within "
        f"{format_duration(n.decide_within)}, may be refused after {n.max_blocks} "
        f"blocks; conditions: {', '.join(c.name for c in n.conditions) or 'none'}; "
        f"public appeals decided within {format_duration(profile.appeals.decide_within)}",
        highlight=False,
    )
    table = Table("category", "urgency", "label (id)", "legal basis")
    for key, c in profile.categories.items():
        table.add_row(key, c.urgency, c.label_id, c.legal_basis)
    out.print(table)


@app.command("derive")
@friendly
def derive(
    name: str = typer.Argument(..., help="A shipped profile name or a .toml path"),
    speed: float = typer.Option(..., "--speed", help="Divide every duration by this (>= 1)."),
    new_name: str | None = typer.Option(None, "--name", help="Name of the derived profile."),
) -> None:
    """Print a complete, valid profile (TOML) with every duration divided by SPEED, for
    drills, training and demos; save it and use it with ``sop show`` or TANGKAL_SOP_PROFILE."""
    drill = read_profile(name).derive(speed, new_name)
    sys.stdout.write(
        f"# {drill.title}\n# derived with: tangkal sop derive {name} --speed {speed:g}\n"
    )
    sys.stdout.write(tomli_w.dumps(drill.document()))


@app.command("list")
def list_profiles() -> None:
    """The shipped profiles."""
    for n in shipped_profiles():
        out.print(n)
