"""Backup and restore of the whole database, and what a restore owes the DNS and the record.

The copy itself is the database's own tool: ``pg_dump --format=custom`` and ``pg_restore``
for PostgreSQL (consistent at one snapshot while the server runs; restored in one
transaction, so a failed restore leaves the database as it was), and SQLite's online backup
API for the embedded database. Nothing is hand-written there.

What is tangkal's own is the step after a restore. The backup is older than what the RPZ
primary last served: secondaries hold a serial past the restored one, and the DNS rule
(RFC 1982, RFC 1995) is that a secondary ignores a zone whose serial went back. Served as
restored, the zone would never reach them again, and they would go on enforcing blocks the
restored database no longer has, or miss blocks added since. So :func:`after_restore`
moves the serial ahead of every serial the zone can have served: ahead of the restored one,
of the one the database held before it was overwritten (when it could be read), of one the
operator saw at a secondary (``--serial-at-least``, from ``dig SOA``), and of the clock.
The clock covers the case where the database was lost: serials start at the Unix time when
the zone is created and grow by one per change set, so unless the zone ever averaged more
than one change set a second, the current Unix time is ahead of any serial it served. The
step is an empty change set from the restored serial to the new one: a secondary at an
older serial follows by IXFR; one at a serial the restored journal does not have (changes
lost with the restore) is not in the journal, and the primary answers it with a full AXFR,
which is exactly the repair it needs.

The audit chain is restored as it was at the backup and verifies; a ``db.restored`` event
records the restore on it. A signed checkpoint taken after the backup will not verify
against the restored chain: that is the evidence, visible to any reader who kept one, that
events were lost with the restore, which is what a checkpoint is for.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.exc import SQLAlchemyError

from tangkal.accounts.principal import SYSTEM
from tangkal.audit.services import record
from tangkal.db.session import Database, normalise_url
from tangkal.errors import InvalidInput
from tangkal.rpz import journal
from tangkal.rpz.models import RpzState
from tangkal.rpz.values import SERIAL_MOD


@dataclass(frozen=True)
class Restored:
    """What a restore did, for the command's answer and the audit event."""

    restored_serial: int
    serial: int
    previous_serial: int | None
    sha256: str


def _libpq(url: str) -> str:
    """The URL in the form pg_dump and pg_restore take (no SQLAlchemy driver suffix)."""
    return (
        make_url(normalise_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _run(argv: list[str]) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise InvalidInput(
            f"{argv[0]} is not installed; install PostgreSQL's client tools "
            "(Debian: postgresql-client) in the version of the server."
        )
    done = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (the standard library's streaming digest; the project has no
    file-hash helper of its own: the hash banks hash content already in memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def backup(db: Database, target: Path) -> str:
    """Write a consistent copy of the whole database to ``target``; returns its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        source = sqlite3.connect(_sqlite_path(db.url))
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)  # page by page, consistent, while the server writes
        finally:
            dest.close()
            source.close()
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _libpq(db.url)])
    return sha256_of(target)


def _serial_or_none(db: Database) -> int | None:
    try:
        with db.read_only() as s:
            return s.scalar(select(RpzState.serial).where(RpzState.id == 1))
    except SQLAlchemyError:
        return None  # no database yet, or not this schema: nothing served from it to know


def restore(db: Database, source: Path, *, serial_at_least: int | None = None) -> Restored:
    """Replace the database with the backup in ``source``, then move the RPZ serial ahead
    (see the module text). Stop ``tangkal serve`` first: its memory holds the old zone."""
    if not source.is_file():
        raise InvalidInput(f"No backup file at {source}.")
    if serial_at_least is not None and not 0 <= serial_at_least < SERIAL_MOD:
        raise InvalidInput("--serial-at-least is a DNS serial: 0 to 4294967295.")
    digest = sha256_of(source)
    previous = _serial_or_none(db)
    db.dispose()  # no pooled connection may hold the old database open
    if db.is_sqlite:
        path = _sqlite_path(db.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(path)
        try:
            with dest:
                src.backup(dest)
        finally:
            dest.close()
            src.close()
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _libpq(db.url),
                str(source),
            ]
        )
    return after_restore(db, digest, previous=previous, at_least=serial_at_least)


def after_restore(
    db: Database, digest: str, *, previous: int | None, at_least: int | None
) -> Restored:
    """The empty change set that moves the restored zone's serial ahead of anything served,
    and the audit event of the restore, in one unit of work."""
    with db.unit_of_work() as s:
        if s.scalar(select(RpzState.id).where(RpzState.id == 1)) is None:
            raise InvalidInput("The backup holds no RPZ state: is it a tangkal database?")
        past = [int(time.time()) % SERIAL_MOD, *(c for c in (previous, at_least) if c is not None)]
        restored, new = journal.advance_serial(
            s, past, reason="restored from a backup: serial moved ahead of any served before"
        )
        record(
            s,
            SYSTEM,
            "db.restored",
            "database",
            "tangkal",
            {
                "backup_sha256": digest,
                "restored_serial": restored,
                "serial": new,
                "previous_serial": previous,
            },
        )
    return Restored(restored, new, previous, digest)
