"""Core commands of the interface contract: serve, db, org, token, demo (audit: its package)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, Role, User
from tangkal.accounts.principal import SYSTEM
from tangkal.cli.common import database, fail, friendly, unit_of_work
from tangkal.cli.passwords import read_password
from tangkal.cli.totp import totp_app
from tangkal.delivery.webhook_url import webhook_url_from_settings
from tangkal.errors import Conflict, InvalidInput, NotFound
from tangkal.settings import check_environment

out = Console()
db_app = typer.Typer(help="Database schema, backup and restore.", no_args_is_help=True)
org_app = typer.Typer(
    help="Organisations: the regulator, platforms and ISPs.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="People who sign in to the web console.", no_args_is_help=True)
user_app.add_typer(totp_app, name="totp")


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    from tangkal.db.migrate import upgrade

    db = database(migrate=False)
    upgrade(db)
    out.print(f"database at {db.engine.url.render_as_string(hide_password=True)} is up to date")


@db_app.command("backup")
@friendly
def db_backup(
    target: str = typer.Argument(..., help="The file to write (pg_dump custom format, or SQLite)."),
) -> None:
    """A consistent copy of the whole database, taken while the server runs."""
    from pathlib import Path

    from tangkal.db.backup import backup

    digest = backup(database(migrate=False), Path(target))
    out.print(f"backup written to {target} (sha256 {digest})")


@db_app.command("restore")
@friendly
def db_restore(
    source: str = typer.Argument(..., help="A file written by 'tangkal db backup'."),
    serial_at_least: int | None = typer.Option(
        None,
        "--serial-at-least",
        help="The highest RPZ serial a secondary is known to hold (dig SOA at it); the "
        "restored zone's serial is moved ahead of it, of the clock and of the serial the "
        "database held before.",
    ),
) -> None:
    """Replace the database with a backup (stop 'tangkal serve' first), then move the RPZ
    serial ahead of anything served before, so secondaries take the restored zone."""
    from pathlib import Path

    from tangkal.db.backup import restore

    done = restore(database(migrate=False), Path(source), serial_at_least=serial_at_least)
    out.print(
        f"restored from {source}: RPZ serial {done.restored_serial} -> {done.serial}; "
        "secondaries holding a serial the restored journal lacks get a full transfer. "
        "Run 'tangkal db upgrade' if the backup is from an older version."
    )


@db_app.command("downgrade")
@friendly
def db_downgrade(
    revision: str | None = typer.Argument(
        None,
        help="Where to go: a revision id (its later migrations are undone), BRANCH@-1 "
        "(e.g. compliance@-1), or base (everything). Default: undo the newest migration "
        "applied, by its Create Date.",
    ),
) -> None:
    """Undo migrations (their tables' data goes with them: back the database up first)."""
    from tangkal.db.migrate import current_revisions, downgrade, newest_applied

    db = database(migrate=False)
    if revision in (None, "-1"):  # Alembic's -1 is ambiguous with one head per branch
        step = newest_applied(db)
        if step is None:
            fail("the database has no migrations applied; nothing to undo.")
            return
        out.print(
            f"undoing {step.revision} ({', '.join(step.branches)}): {step.doc}", highlight=False
        )
        revision = step.target
    downgrade(db, revision)
    now = ", ".join(sorted(current_revisions(db))) or "base (empty)"
    out.print(f"database now at {now}", highlight=False)


@org_app.command("create")
@friendly
def org_create(
    kind: str = typer.Option(..., "--kind", help="regulator, platform or isp"),
    name: str = typer.Option(..., "--name"),
    domain: list[str] = typer.Option([], "--domain", help="A registered domain (repeatable)."),
    display_name: str | None = typer.Option(None, "--display-name"),
    webhook: str | None = typer.Option(None, "--webhook", help="Push orders to this URL."),
    contact_email: str | None = typer.Option(None, "--contact-email"),
) -> None:
    """Register an organisation."""
    with unit_of_work() as session:
        org = accounts.create_org(
            session,
            SYSTEM,
            kind=accounts.parse_kind(kind),
            name=name,
            display_name=display_name,
            domains=domain,
            webhook_url=webhook_url_from_settings(webhook) if webhook else None,
            contact_email=contact_email,
        )
        out.print(f"created {org.kind.value} {org.name} ({org.id})")
        if org.webhook_secret:
            out.print(f"webhook secret (shown once): {org.webhook_secret}")


@org_app.command("list")
@friendly
def org_list() -> None:
    """List organisations."""
    from sqlalchemy import select

    from tangkal.accounts.models import Organization

    with unit_of_work() as session:
        for org in session.scalars(select(Organization).order_by(Organization.name)):
            domains = ", ".join(d.name for d in org.domains)
            out.print(f"{org.kind.value:10} {org.name:30} {domains}", highlight=False)


@token_app.command("create")
@friendly
def token_create(
    org: str = typer.Option(..., "--org", help="Organisation name"),
    role: str = typer.Option(
        ..., "--role", help="analyst, official, moderator, isp, auditor, admin"
    ),
    label: str | None = typer.Option(None, "--label"),
    user: str | None = typer.Option(
        None,
        "--user",
        help="The person the token belongs to (two-person approvals count people); "
        "created in the org with the token's role, and no console password, if new.",
    ),
) -> None:
    """Make an API token; prints only the token, on stdout."""
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        the_role = accounts.parse_role(role)
        person = _token_holder(session, organisation, user, the_role) if user else None
        token = accounts.create_token(
            session, SYSTEM, organisation, the_role, user=person, label=label
        )
    sys.stdout.write(token + "\n")


def _token_holder(session: Session, organisation: Organization, username: str, role: Role) -> User:
    """The person a token is for: an existing user of the org with the same role, or a new
    one with that role and no console password (someone who only uses API tokens)."""
    try:
        person = accounts.get_user(session, organisation, username)
    except NotFound:
        return accounts.create_user(
            session, SYSTEM, organisation, username=username, role=role, password=None
        )
    if person.role != role:
        raise InvalidInput(
            f"{username} in {organisation.name} has the role {person.role.value}, not "
            f"{role.value}; a token of theirs has their role (--role {person.role.value}).",
            field="role",
        )
    if not person.active:
        raise Conflict(f"{username} in {organisation.name} is deactivated; no new tokens.")
    return person


_PASSWORD_STDIN = typer.Option(
    False,
    "--password-stdin",
    help="Read the password from the first line of standard input (for scripts: "
    "printf '%s\\n' \"$PW\" | tangkal user ...), instead of asking for it.",
)
#: Refused, never used: an argument is seen by everyone on the host (ps) and kept in the
#: shell's history. Hidden, so that an old script meets a clear message, not "no such option".
_PASSWORD_ARG = typer.Option(None, "--password", hidden=True)


@user_app.command("create")
@friendly
def user_create(
    org: str = typer.Option(..., "--org"),
    username: str = typer.Option(..., "--username"),
    role: str = typer.Option(..., "--role"),
    password_stdin: bool = _PASSWORD_STDIN,
    password_arg: str | None = _PASSWORD_ARG,
) -> None:
    """Add a person who signs in to the web console; the password is asked for (typed twice,
    not shown) or read from standard input with --password-stdin."""
    password = read_password(password_stdin, password_arg)
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        accounts.create_user(
            session,
            SYSTEM,
            organisation,
            username=username,
            role=accounts.parse_role(role),
            password=password,
        )
    out.print(f"created user {username} in {org}")


@user_app.command("deactivate")
@friendly
def user_deactivate(
    org: str = typer.Option(..., "--org"),
    username: str = typer.Option(..., "--username"),
) -> None:
    """Stop a person signing in; the console sessions they have end at once."""
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        person = accounts.get_user(session, organisation, username)
        accounts.deactivate_user(session, SYSTEM, person)
    out.print(f"deactivated {username} in {org}; their console sessions are ended")


@user_app.command("password")
@friendly
def user_password(
    org: str = typer.Option(..., "--org"),
    username: str = typer.Option(..., "--username"),
    password_stdin: bool = _PASSWORD_STDIN,
    password_arg: str | None = _PASSWORD_ARG,
) -> None:
    """Set a new password (asked for, or read from standard input with --password-stdin);
    every console session signed in with the old one ends."""
    password = read_password(password_stdin, password_arg)
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        accounts.set_password(
            session, SYSTEM, accounts.get_user(session, organisation, username), password
        )
    out.print(f"new password set for {username} in {org}; their console sessions are ended")


@user_app.command("timezone")
@friendly
def user_timezone(
    org: str = typer.Option(..., "--org"),
    username: str = typer.Option(..., "--username"),
    zone: str = typer.Argument(
        ..., help="An IANA zone of the SOP profile (Asia/Makassar for WITA), or 'profile'."
    ),
) -> None:
    """The time zone the console shows this person times in (WITA, WIT beside WIB)."""
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        person = accounts.get_user(session, organisation, username)
        accounts.set_timezone(session, SYSTEM, person, None if zone == "profile" else zone)
        shown = person.timezone or "the profile's zone"
    out.print(f"{username} in {org} reads times in {shown}")


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    dns_port: int = typer.Option(5353, "--dns-port", help="RPZ primary (TCP and UDP); 0 = off"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="HTTP worker processes (PostgreSQL); background services run in exactly one.",
    ),
) -> None:
    """API, web console, RPZ primary and scheduler in one process (or N HTTP workers).

    Refuses to start when a TANGKAL_* variable is unknown (a misspelt name would otherwise
    be silently ignored) or has a value that cannot be used.
    """
    import uvicorn

    from tangkal.api.app import create_app
    from tangkal.logging import access_log_enabled, configure_logging, uvicorn_log_config

    settings = check_environment()  # before anything reads a setting or opens the database
    from tangkal.sop.profile import active_profile

    active_profile()  # a bad SOP profile stops the server here, naming file, key and reason
    from tangkal.audit.signing import load_key

    load_key(settings)  # a bad audit signing key stops it here too (an absent one is made)
    configure_logging()
    db = database()
    if workers > 1 and db.is_sqlite:
        fail("--workers needs PostgreSQL: SQLite has a single writer; use one process.")
    from tangkal.hashing.video import video_hashing_available

    video = video_hashing_available()
    banner = f"tangkal on http://{host}:{port}  (RPZ {settings.rpz_zone} on {host}:{dns_port})"
    if settings.log_format == "json":  # every line a JSON object, this one too
        import structlog

        structlog.get_logger("tangkal.serve").info(
            "tangkal serving",
            url=f"http://{host}:{port}",
            rpz_zone=settings.rpz_zone,
            dns=f"{host}:{dns_port}",
            workers=workers,
            video_hashing=video,
        )
    else:
        typer.echo(banner)
        if not video:
            typer.echo(
                "video files are not hashed (vPDQ needs the video extra: "
                "scripts/install-system-deps && pip install -e '.[video]')"
            )
    # uvicorn's logging: its own handlers on the console, tangkal's JSON handler otherwise.
    logs = {
        "log_level": settings.log_level,
        "log_config": uvicorn_log_config(settings),
        "access_log": access_log_enabled(settings),
    }
    if workers == 1:
        app = create_app(db, settings, dns_port=dns_port or None, dns_host=host)
        uvicorn.run(app, host=host, port=port, **logs)  # type: ignore[arg-type]
        return
    import os
    import tempfile

    from tangkal.api import asgi
    from tangkal.api.metrics import multiprocess_dir
    from tangkal.api.workers import run_workers

    # Each worker builds its own app from the environment; the lock file elects the one
    # that runs the background services (see tangkal.api.asgi).
    fd, lock = tempfile.mkstemp(prefix="tangkal-primary-", suffix=".lock")
    os.close(fd)
    os.environ.update(
        {
            asgi.ENV_PRIMARY_LOCK: lock,
            asgi.ENV_DNS_PORT: str(dns_port or 0),
            asgi.ENV_DNS_HOST: host,
        }
    )
    db.dispose()  # no connections inherited by the workers
    try:
        with multiprocess_dir() as metrics:  # every worker's /metrics shows all workers' values
            # uvicorn's supervisor, which also forgets the gauges of a worker that is gone
            run_workers(
                "tangkal.api.asgi:create",
                str(metrics),
                workers=workers,
                host=host,
                port=port,
                **logs,
            )
    finally:
        os.unlink(lock)


def settings() -> None:
    """Print every TANGKAL_* setting as one Markdown table (type, default, allowed values,
    what it does), generated from the settings class: this is docs/settings.md."""
    from tangkal.settings_doc import settings_markdown

    sys.stdout.write(settings_markdown())


def demo() -> None:
    """Load the 2017 Telegram case into the configured database."""
    from tangkal.demo import load_demo

    with unit_of_work() as session:
        lines = load_demo(session)
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("serve")(friendly(serve))
    app.command("demo")(friendly(demo))
    app.command("settings")(settings)
    app.add_typer(db_app, name="db")
    app.add_typer(org_app, name="org")
    app.add_typer(token_app, name="token")
    app.add_typer(user_app, name="user")
