"""``tangkal serve --workers N``: uvicorn's own supervisor, told to forget a worker's gauges
when the worker is gone.

prometheus-client's multiprocess mode keeps one value file per worker pid. A counter of a
dead worker must stay (totals never go back), but a gauge of a dead worker is a value
nobody keeps up to date any more: without help it stays in every scrape, beside the value
of the worker that replaced it. prometheus-client's answer is
:func:`prometheus_client.multiprocess.mark_process_dead`, called by the process manager
when a worker exits; it removes the files of that pid's ``live*`` gauges (each gauge of
tangkal declares one of those modes for this reason). uvicorn has no hook for it, so this
supervisor is uvicorn's :class:`~uvicorn.supervisors.Multiprocess` with one step added to
the loop that replaces dead workers (every half second): any pid it had that is no longer
among its workers, because it died and was replaced, was retired by ``SIGHUP`` or removed
by ``SIGTTOU``, is marked dead.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.server import Server
from uvicorn.supervisors import Multiprocess


class MetricsSupervisor(Multiprocess):
    """uvicorn's supervisor that marks each worker it no longer runs dead for
    prometheus-client (see the module text)."""

    metrics_dir: str
    _known: set[int]

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self.forget_exited()

    def forget_exited(self) -> None:
        """Mark dead every pid seen before that is no longer one of the workers."""
        live = {p.pid for p in self.processes if p.pid is not None}
        for pid in getattr(self, "_known", set()) - live:
            mark_process_dead(pid, self.metrics_dir)
        self._known = live


def run_workers(app: str, metrics_dir: str, **options: Any) -> None:
    """What ``uvicorn.run(app, factory=True, workers=N, ...)`` does, with
    :class:`MetricsSupervisor` as the supervisor. ``options`` are ``uvicorn.Config``'s."""
    config = uvicorn.Config(app, factory=True, **options)
    sock = config.bind_socket()
    # Older uvicorn (0.35 and before) gave the supervisor the server's run function.
    takes_target = "target" in inspect.signature(Multiprocess.__init__).parameters
    extra = {"target": Server(config=config).run} if takes_target else {}
    supervisor = cast(Any, MetricsSupervisor)(config, sockets=[sock], **extra)
    supervisor.metrics_dir = metrics_dir
    try:
        supervisor.run()
    except KeyboardInterrupt:  # as uvicorn.run
        pass
    finally:
        sock.close()
