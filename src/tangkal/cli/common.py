"""Helpers shared by every command: opening the database and reporting errors plainly."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from tangkal.db.migrate import is_current, upgrade
from tangkal.db.session import Database, get_database
from tangkal.errors import TangkalError

# soft_wrap: an error names files and keys a person copies; rich's wrapping at the terminal
# width would break them mid-word (a path with a newline in it cannot be pasted back).
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def database(*, migrate: bool = True) -> Database:
    """The configured database, migrated to the latest schema if it is behind."""
    db = get_database()
    if migrate and not is_current(db):
        upgrade(db)
    return db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    with database().unit_of_work() as session:
        yield session


def friendly(fn: F) -> F:
    """Turn domain errors into one clear line on stderr and exit code 1 (or 2 for input)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TangkalError as exc:
            err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            sys.exit(2 if exc.status_code < 500 else 1)

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)
