"""Entry point: ``tangkal``. Domain packages add their command groups in ``COMMAND_GROUPS``."""

from __future__ import annotations

import importlib

import typer

from tangkal.cli import core

app = typer.Typer(
    name="tangkal",
    help="tangkal: takedown orders, DNS blocking (RPZ), hash banks and transparency.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

core.register(app)

# "module:attribute" of a typer.Typer, and its group name.
COMMAND_GROUPS: list[tuple[str, str]] = [
    ("tangkal.rpz.cli:app", ""),  # no group name: adds "tsig", "subscriber", "rpz"
    ("tangkal.blocklist.cli:app", "block"),
    ("tangkal.orders.cli:app", "import"),
    ("tangkal.sop.cli:app", "sop"),
    ("tangkal.hashing.cli:app", "bank"),
    ("tangkal.compliance.cli:app", ""),  # no group name: adds "resolver", "compliance"
    ("tangkal.audit.cli:app", "audit"),
]

for ref, name in COMMAND_GROUPS:
    module, _, attr = ref.partition(":")
    app.add_typer(getattr(importlib.import_module(module), attr), name=name)


if __name__ == "__main__":
    app()
