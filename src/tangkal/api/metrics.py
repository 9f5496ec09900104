"""``/metrics`` under ``tangkal serve --workers N``: prometheus-client's multiprocess mode.

Each worker is its own process with its own counters, and a scrape reaches whichever worker
the kernel hands the connection to: without help, a scrape shows one worker's requests and,
unless it lands on the worker that runs the background services, no RPZ, scheduler or
compliance metrics at all (issue 11 saw 4 scrapes of 10 without them). In multiprocess mode
every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` and any worker's
``/metrics`` reads them all: counters and histograms summed over the workers (also those
that have died and been replaced, so totals never go back). Each gauge says how its
workers' values combine, always in one of the ``live`` modes, whose values of a dead worker
the supervisor removes (:mod:`tangkal.api.workers`): ``livemostrecent`` for a value one
process knows or all know alike (the RPZ primary's serial and subscribers, the latest
compliance round, the match index's size), one series without a ``pid`` label;
``livesum`` for what the live processes hold between them (TCP connections); ``liveall``,
one series per live worker with its ``pid``, only for :data:`WORKER_STARTED`, which is
about the workers themselves. A series removed while its process lives is taken out by
:mod:`tangkal.livegauges` (prometheus-client's own ``remove`` cannot in this mode).

``tangkal serve --workers N`` (N > 1) sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh
directory before the workers start and removes it when the server stops. An operator may
set it instead (a directory that survives the server, for a tmpfs of their choosing); its
old value files are removed at start, as prometheus-client requires, since values of a
previous run would otherwise be added to this one's. One process (``--workers 1``) keeps the
plain in-process registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Under ``--workers N``: one series per live worker (its ``pid`` label), so a restarted
#: worker shows as a new pid with a new start time, and ``background`` names the one that
#: runs the background services and the RPZ primary.
WORKER_STARTED = Gauge(
    "tangkal_worker_start_time_seconds",
    "When each live worker process started (Unix time); background=true for the one "
    "running the background services and the RPZ primary",
    ["background"],
    multiprocess_mode="liveall",
)


def mark_worker_started(background: bool) -> None:
    """Called once by each worker as it builds its app (:func:`tangkal.api.asgi.create`)."""
    WORKER_STARTED.labels("true" if background else "false").set_to_current_time()


def multiprocess_dir_in_use() -> str | None:
    """The directory the workers write their values to, when in multiprocess mode."""
    return os.environ.get(ENV) or None


def exposition(*collectors: Collector) -> bytes:
    """The Prometheus text for ``/metrics``: every worker's values in multiprocess mode,
    this process's otherwise, followed by ``collectors`` asked afresh (the database's
    counts, :mod:`tangkal.api.dbmetrics`), which are the same whichever worker answers."""
    path = multiprocess_dir_in_use()
    if path is None:
        text = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)
        text = generate_latest(registry)
    if collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            extra.register(collector)
        text += generate_latest(extra)
    return text


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """For the life of a multi-worker server: ``PROMETHEUS_MULTIPROC_DIR`` set and empty of
    value files before any worker starts (each worker imports prometheus-client afresh and
    sees it); a directory made here is removed afterwards, one an operator gave is kept."""
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    made = Path(tempfile.mkdtemp(prefix="tangkal-metrics-"))
    os.environ[ENV] = str(made)
    try:
        yield made
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(made, ignore_errors=True)
