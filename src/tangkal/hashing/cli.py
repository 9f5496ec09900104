"""``tangkal bank``: create banks, import and export exchange files with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tangkal.accounts.models import Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import get_org_by_name
from tangkal.cli.common import database, err, friendly
from tangkal.hashing import banks, exchange

FORMATS_HELP = "; ".join(f"{f.name}: {f.description}" for f in exchange.FORMATS.values())

app = typer.Typer(help="Hash banks: create, import, export.", no_args_is_help=True)


def _actor(org: str) -> Principal:
    with database().read_only() as s:
        o = get_org_by_name(s, org)
        role = Role.ANALYST if o.kind.value == "regulator" else Role.MODERATOR
        return Principal(org_id=o.id, org_name=o.name, org_kind=o.kind, role=role, username="cli")


@app.command("create")
@friendly
def create(
    name: str,
    org: str = typer.Option(..., "--org"),
    kind: str = typer.Option("own", "--kind", help="own, imported or order"),
    source: str | None = typer.Option(None, "--source"),
    allowlist: bool = typer.Option(False, "--allowlist"),
    private: bool = typer.Option(False, "--private"),
) -> None:
    """Create a bank owned by ORG."""
    actor = _actor(org)
    with database().unit_of_work() as s:
        bank = banks.create_bank(
            s,
            actor,
            name,
            kind=kind,
            source=source,
            allowlist=allowlist,
            shared=False if private else None,
        )
    typer.echo(f"created bank {bank.name} ({'shared' if bank.shared else 'private'})")


@app.command("import")
@friendly
def import_file(
    name: str,
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    org: str = typer.Option(..., "--org"),
    fmt: str = typer.Option("te", "--format", help=FORMATS_HELP),
    skip_unsupported: bool = typer.Option(
        False,
        "--skip-unsupported",
        help="import the rows of known signal types and report the others (default: refuse "
        "the whole file)",
    ),
) -> None:
    """Import a file into a bank: all rows or none (see --skip-unsupported)."""
    actor = _actor(org)
    data = file.read_bytes()
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=not sys.stderr.isatty()) as progress:
        task = progress.add_task("import", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with database().unit_of_work() as s:
            result = exchange.import_into(
                s, actor, name, data, fmt, tick, skip_unsupported=skip_unsupported
            )
    typer.echo(
        f"imported into {name}: {result.added} added, {result.duplicates} already "
        f"present, {result.removed} removed"
    )
    if result.skipped:
        typer.echo(f"left out (unsupported): {exchange.describe_skipped(result.skipped)}")


@app.command("export")
@friendly
def export(
    name: str,
    org: str = typer.Option(..., "--org"),
    fmt: str = typer.Option("te", "--format", help=FORMATS_HELP),
) -> None:
    """Write a bank to stdout in an exchange format."""
    actor = _actor(org)
    with database().read_only() as s:
        for chunk in exchange.export(s, actor, name, fmt):
            sys.stdout.write(chunk)
