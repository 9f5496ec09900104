"""Removing a gauge's series, also under ``tangkal serve --workers N``.

In prometheus-client's multiprocess mode a series lives in the process's value file, which
``Gauge.remove`` and ``Gauge.clear`` do not touch (they warn and forget only the in-memory
child), so a removed series (a resolver taken out of the probes, an ISP no round probes any
more) would stay in every scrape with its last value for as long as the process lives.

For the gauges whose mode is ``livemostrecent`` (or ``mostrecent``) there is a way the
collector itself offers: it shows, for each label set, the value with the newest timestamp,
and a value whose timestamp is 0 is never shown. Writing the removed series' value with no
timestamp (as ``MultiProcessValue.set`` does when given none) therefore takes it out of the
scrape, unless another live process has set the same series since; setting it again later
brings it back with a real timestamp. In one process :func:`forget` is plain
``Gauge.remove``.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from prometheus_client import Gauge

_MOST_RECENT = frozenset({"mostrecent", "livemostrecent"})


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def forget(gauge: Gauge, *labelvalues: Any) -> None:
    """Take one series of ``gauge`` out of ``/metrics``; one it never had is no error."""
    key = tuple(str(v) for v in labelvalues)
    children: dict[Any, Any] = gauge._metrics  # prometheus-client's own table
    child = children.get(key)
    if child is None:
        return
    if _multiprocess():
        if gauge._multiprocess_mode not in _MOST_RECENT:
            raise ValueError(f"{gauge._name}: only a mostrecent gauge's series can be forgotten")
        child._value.set(0.0)  # no timestamp: the collector's newest-value rule skips it
    with warnings.catch_warnings():  # prometheus-client warns that its remove cannot do this
        warnings.simplefilter("ignore", UserWarning)
        gauge.remove(*key)


def forget_all(gauge: Gauge) -> None:
    """Every series of ``gauge`` out of ``/metrics``, before the current ones are set again
    (what ``Gauge.clear`` does in one process)."""
    for key in list(gauge._metrics):
        forget(gauge, *key)
