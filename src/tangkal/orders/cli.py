"""``tangkal import orders FILE.csv``: bulk filing with a per-row error report.

Each row is its own unit of work: a bad row is reported with its line number and reason and
leaves nothing behind; good rows are filed. ``--check`` validates the whole file first and
files nothing if any row is bad.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import get_org_by_name
from tangkal.cli.common import database, err, fail, friendly
from tangkal.errors import TangkalError
from tangkal.orders.filing import parse_locators
from tangkal.orders.schemas import OrderIn
from tangkal.orders.services import file_order
from tangkal.sop.profile import active_profile

app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
REQUIRED = ("platform", "category", "locators", "legal_basis", "reason")
_SPLIT = re.compile(r"[\s|;]+")


def _row_to_order(row: dict[str, str]) -> OrderIn:
    missing = [c for c in REQUIRED if not (row.get(c) or "").strip()]
    if missing:
        raise TangkalError(f"missing {', '.join(missing)}")
    locs = [x for x in _SPLIT.split(row["locators"].strip()) if x]
    try:
        return OrderIn(
            platform=row["platform"].strip(),
            category=row["category"].strip(),
            locators=locs,
            legal_basis=row["legal_basis"].strip(),
            reason=row["reason"].strip(),
            urgency=(row.get("urgency") or "").strip() or None,
        )
    except Exception as exc:  # pydantic's message, shortened
        raise TangkalError(str(exc).splitlines()[0]) from None


@app.command("orders")
@friendly
def import_orders(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV with columns platform, category, locators "
        "(separated by spaces or |), legal_basis, reason[, urgency]",
    ),
    org: str = typer.Option(..., "--org", help="The regulator filing the orders"),
    check: bool = typer.Option(
        False, "--check", help="Validate every row first; file nothing if any is bad"
    ),
    errors: Path | None = typer.Option(None, "--errors", help="Write bad rows with reasons here"),
) -> None:
    """File orders from a CSV file."""
    db = database()
    with db.read_only() as s:
        regulator = get_org_by_name(s, org)
        if regulator.kind is not OrgKind.REGULATOR:
            fail(f"{org} is not a regulator; only a regulator files orders.")
        actor = Principal(
            org_id=regulator.id,
            org_name=regulator.name,
            org_kind=regulator.kind,
            role=Role.ANALYST,
            username="csv-import",
        )
    profile = active_profile()
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        absent = [c for c in REQUIRED if c not in header]
        if absent:
            fail(f"{file} lacks the column(s) {', '.join(absent)}; header is {header}.")
        rows = [(i + 2, {k.strip(): v for k, v in r.items() if k}) for i, r in enumerate(reader)]
    bad: list[tuple[int, dict[str, str], str]] = []
    parsed: list[tuple[int, dict[str, str], OrderIn]] = []
    for line, row in rows:
        try:
            order = _row_to_order(row)
            profile.category(order.category.lower())
            parse_locators(order.locators)
            parsed.append((line, row, order))
        except TangkalError as exc:
            bad.append((line, row, exc.message))
    if check and bad:
        _report(bad, errors)
        fail(f"{len(bad)} of {len(rows)} rows are invalid; nothing was imported.", 1)
    filed = 0
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=not sys.stderr.isatty()) as progress:
        task = progress.add_task("orders", total=len(parsed))
        for line, row, order in parsed:
            try:
                with db.unit_of_work() as s:
                    file_order(s, actor, order, profile)
                filed += 1
            except TangkalError as exc:
                bad.append((line, row, exc.message))
            progress.advance(task)
    bad.sort(key=lambda b: b[0])
    _report(bad, errors)
    typer.echo(f"imported {filed} of {len(rows)} rows; {len(bad)} rejected")
    if bad:
        raise typer.Exit(1)


def _report(bad: list[tuple[int, dict[str, str], str]], path: Path | None) -> None:
    for line, _, reason in bad[:50]:
        err.print(f"line {line}: {reason}", highlight=False, markup=False)
    if len(bad) > 50:
        err.print(f"... and {len(bad) - 50} more", highlight=False)
    if path and bad:
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "error", *REQUIRED])
            for line, row, reason in bad:
                w.writerow([line, reason, *(row.get(c, "") for c in REQUIRED)])
