"""``tangkal user totp``: a person's second factor for the console."""

from __future__ import annotations

import typer

from tangkal.accounts import services as accounts
from tangkal.accounts import totp
from tangkal.accounts.principal import SYSTEM
from tangkal.cli.common import friendly, unit_of_work

totp_app = typer.Typer(
    help="Second factor (TOTP) for console sign-in: officials and admins need one when "
    "TANGKAL_REQUIRE_TOTP is set.",
    no_args_is_help=True,
)


@totp_app.command("enrol")
@friendly
def enrol(
    username: str = typer.Argument(..., help="The person's user name"),
    org: str = typer.Option(..., "--org", help="Their organisation"),
) -> None:
    """Make a new TOTP secret and ten single-use recovery codes for a person, replacing any
    they had; prints the otpauth:// URI (for the authenticator app, as a QR code or typed)
    and the recovery codes, once: hand both to the person only."""
    with unit_of_work() as session:
        organisation = accounts.get_org_by_name(session, org)
        person = accounts.get_user(session, organisation, username)
        uri, codes = totp.enrol(session, SYSTEM, organisation, person)
    # plain lines, never wrapped: the URI is read by a QR tool or pasted whole
    typer.echo(uri)
    typer.echo(f"recovery codes for {username} in {org} (each works once; shown only now):")
    for code in codes:
        typer.echo(f"  {code}")
