"""The application as an import string, for ``tangkal serve --workers N``.

uvicorn starts each worker process by importing ``tangkal.api.asgi:create`` and calling it,
so everything a worker needs comes from the environment (``TANGKAL_*`` settings, and the
variables below set by ``tangkal serve``).

The background services (outbox delivery, the order scheduler, block expiry, the RPZ
primary) must run in exactly one process: the RPZ primary owns a port, and running the rest
N times would only multiply idle polling. The worker that wins an exclusive ``flock`` on a
file named by ``tangkal serve`` runs them; the others serve HTTP only. The kernel releases
the lock when that process dies, and the worker uvicorn starts in its place takes it over.
(The background work itself leases rows through the database, so a second runner would be
safe, merely wasteful.)
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from fastapi import FastAPI

ENV_PRIMARY_LOCK = "TANGKAL_SERVE_PRIMARY_LOCK"
ENV_DNS_PORT = "TANGKAL_SERVE_DNS_PORT"
ENV_DNS_HOST = "TANGKAL_SERVE_DNS_HOST"

_held: IO[bytes] | None = None  # kept open for the life of the process: the lock lives on it


def claim_primary(path: str) -> bool:
    """True for exactly one live process per lock file."""
    global _held
    if _held is not None:
        return True
    f = open(path, "ab")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False
    _held = f
    return True


def create() -> FastAPI:
    """Build the app for one worker process from the environment."""
    from tangkal.api.app import create_app
    from tangkal.api.metrics import mark_worker_started
    from tangkal.db.session import get_database
    from tangkal.logging import configure_logging
    from tangkal.settings import get_settings

    configure_logging()
    lock = os.environ.get(ENV_PRIMARY_LOCK)
    primary = claim_primary(lock) if lock else True
    dns_port = int(os.environ.get(ENV_DNS_PORT) or 0) or None
    mark_worker_started(background=primary)
    return create_app(
        get_database(),
        get_settings(),
        background=primary,
        dns_port=dns_port if primary else None,
        dns_host=os.environ.get(ENV_DNS_HOST, "127.0.0.1"),
    )
