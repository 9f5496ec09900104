"""``tangkal block ...``: the blocklist from the command line (operators, bulk imports)."""

from __future__ import annotations

import contextlib
import getpass
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist import importer, services
from tangkal.cli.common import err, fail, friendly, unit_of_work

app = typer.Typer(
    help="The blocklist: block, restore, list and import names.", no_args_is_help=True
)
out = Console()


def _principal(by_official: bool, org: str | None) -> Principal:
    """Who the command acts as: the operator at the console, in the regulator's name.

    Without --by-official a block is a request (an analyst's), waiting for an official's
    approval, exactly as through the API.
    """
    role = Role.OFFICIAL if by_official else Role.ANALYST
    user = f"cli:{getpass.getuser()}"
    if org is None:
        return Principal(
            org_id="system",
            org_name="tangkal",
            org_kind=OrgKind.REGULATOR,
            role=role,
            username=user,
        )
    from tangkal.accounts.services import get_org_by_name

    with unit_of_work() as session:
        o = get_org_by_name(session, org)
        if o.kind is not OrgKind.REGULATOR:
            fail(f"{org} is a {o.kind.value}; only the regulator decides blocks.")
        return Principal(org_id=o.id, org_name=o.name, org_kind=o.kind, role=role, username=user)


@app.command("add")
@friendly
def add(
    domain: str = typer.Argument(..., help="The name to block"),
    action: str = typer.Option("nxdomain", "--action", help="nxdomain, nodata, landing, passthru"),
    legal_basis: str = typer.Option(..., "--legal-basis"),
    reason: str = typer.Option(..., "--reason"),
    category: str | None = typer.Option(None, "--category"),
    order_id: str | None = typer.Option(None, "--order-id", help="Order or case reference"),
    by_official: bool = typer.Option(
        False,
        "--by-official",
        help="Decide as an official (takes effect at once unless the rails need a second official)",
    ),
    org: str | None = typer.Option(None, "--org", help="Regulator organisation to act for"),
) -> None:
    """Block a name (or request it, without --by-official)."""
    principal = _principal(by_official, org)
    req = services.BlockRequest.build(
        domain=domain,
        action=action,
        legal_basis=legal_basis,
        reason=reason,
        category=category,
        order_id=order_id,
    )
    with unit_of_work() as session:
        entry, assessment = services.create_block(session, principal, req)
    out.print(
        f"{entry.id} {entry.domain} {entry.action.value} {entry.status.value}", highlight=False
    )
    for line in assessment.reasons:
        err.print(f"  note: {line}", highlight=False, markup=False)


@app.command("restore")
@friendly
def restore(
    block: str = typer.Argument(..., help="Block entry id, or the blocked name"),
    reason: str = typer.Option(..., "--reason", help="Why access is restored"),
    org: str | None = typer.Option(None, "--org"),
) -> None:
    """Restore access (normalisation); published to the RPZ in the same transaction."""
    principal = _principal(True, org)
    with unit_of_work() as session:
        if services._UUID.match(block):
            entry = services.restore(session, principal, block, reason)
        else:
            entry = services.restore_name(session, principal, block, reason)
    out.print(f"{entry.id} {entry.domain} restored", highlight=False)


@app.command("approve")
@friendly
def approve(
    block_id: str = typer.Argument(..., help="Block entry id (see 'tangkal block list')"),
    org: str | None = typer.Option(None, "--org"),
) -> None:
    """Approve a pending block as an official. The operator is identified by the OS account,
    so the second approval of a whole-service or protected block must come from another
    account (or from the console or API), never from the same person twice."""
    principal = _principal(True, org)
    with unit_of_work() as session:
        entry = services.approve(session, principal, block_id)
    out.print(f"{entry.id} {entry.domain} {entry.status.value}", highlight=False)


@app.command("list")
@friendly
def list_(
    domain: str | None = typer.Option(None, "--domain"),
    status: str | None = typer.Option(None, "--status"),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000),
) -> None:
    """List block entries, newest first."""
    principal = _principal(False, None)
    with unit_of_work() as session:
        entries = services.list_blocks(
            session, principal, domain=domain, status=status, limit=limit
        )
        # Plain tab-separated lines, full ids: this output is meant for grep and scripts too.
        for e in entries:
            since = e.activated_at.isoformat(timespec="seconds") if e.activated_at else "-"
            sys.stdout.write(
                "\t".join((e.id, e.domain, e.action.value, e.status.value, since, e.legal_basis))
                + "\n"
            )


def _not_utf8(file: Path, exc: UnicodeDecodeError) -> None:
    fail(f"{file} is not UTF-8 text ({exc}); save it as UTF-8 and try again.")


@app.command("import")
@friendly
def import_(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="One name per line, or CSV with a header: "
        "domain,action,legal_basis,reason,category,order_id",
    ),
    action: str = typer.Option("nxdomain", "--action", help="Default action"),
    legal_basis: str | None = typer.Option(None, "--legal-basis", help="Default legal basis"),
    reason: str | None = typer.Option(None, "--reason", help="Default reason"),
    category: str | None = typer.Option(None, "--category"),
    order_id: str | None = typer.Option(None, "--order-id"),
    by_official: bool = typer.Option(False, "--by-official"),
    org: str | None = typer.Option(None, "--org"),
    max_errors: int = typer.Option(50, "--max-errors", help="How many bad lines to print"),
) -> None:
    """Import a list, all or nothing: every line is checked first, and one bad line means
    nothing is written."""
    principal = _principal(by_official, org)
    # A file is read twice (count, then parse) rather than held: a national list has millions
    # of lines, and only the parsed rows are needed. A pipe (``<(curl ...)``) can be read only
    # once, so its lines are held.
    lines: list[str] | None = None
    try:
        with file.open(encoding="utf-8", errors="strict") as fh:
            if file.is_file():
                total = sum(1 for _ in fh)
            else:
                lines = fh.readlines()
                total = len(lines)
    except UnicodeDecodeError as exc:
        _not_utf8(file, exc)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks = {"validate": bar.add_task("checking lines", total=total)}

        def progress(stage: str, n: int) -> None:
            bar.advance(tasks[stage], n)

        with contextlib.ExitStack() as stack:
            source = (
                lines
                if lines is not None
                else stack.enter_context(file.open(encoding="utf-8", errors="strict"))
            )
            try:
                rows, errors = importer.parse_lines(
                    source,
                    action=action,
                    legal_basis=legal_basis,
                    reason=reason,
                    category=category,
                    order_id=order_id,
                    progress=progress,
                )
            except UnicodeDecodeError as exc:  # the file changed since it was counted
                _not_utf8(file, exc)
        bar.update(tasks["validate"], completed=total)
        with unit_of_work() as session:
            if not errors:
                errors = importer.check_against_database(session, rows)
            if errors:
                bar.stop()
                for e in errors[:max_errors]:
                    err.print(
                        f"{file}:{e.line}: {e.text!r}: {e.message}", highlight=False, markup=False
                    )
                if len(errors) > max_errors:
                    err.print(f"... and {len(errors) - max_errors} more bad line(s)")
                err.print(
                    f"[bold red]error:[/] {len(errors)} bad line(s); nothing was imported.",
                    soft_wrap=True,
                )
                sys.exit(2)
            tasks["insert"] = bar.add_task("writing entries", total=len(rows))
            tasks["publish"] = bar.add_task("publishing to the RPZ", total=len(rows))
            result = importer.apply_import(
                session, principal, rows, source=file.name, progress=progress
            )
            bar.update(tasks["publish"], completed=len(rows))
    out.print(
        f"imported {result.total} name(s): {result.active} active, {result.pending} "
        f"pending approval; import {result.import_id}"
        + (f"; zone serial {result.serials[-1]}" if result.serials else ""),
        highlight=False,
    )


@app.command("protect")
@friendly
def protect(
    name: str = typer.Argument(...),
    note: str = typer.Option(..., "--note", help="Why the name is protected"),
) -> None:
    """Add a name (and all beneath it) to the protected list."""
    with unit_of_work() as session:
        row = services.add_protected(session, _principal(True, None), name, note)
    out.print(f"protected {row.name}", highlight=False)


@app.command("unprotect")
@friendly
def unprotect(name: str = typer.Argument(...)) -> None:
    """Remove a name from the protected list."""
    with unit_of_work() as session:
        services.remove_protected(session, _principal(True, None), name)
    out.print(f"{name} is no longer protected", highlight=False)


@app.command("protected")
@friendly
def protected() -> None:
    """Show the protected list."""
    with unit_of_work() as session:
        for p in services.list_protected(session):
            out.print(f"{p.name:30} {p.note}", highlight=False)
