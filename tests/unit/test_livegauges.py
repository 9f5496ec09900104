"""A forgotten gauge series leaves ``/metrics`` in one process and in prometheus-client's
multiprocess mode, where ``Gauge.remove`` alone leaves it in the value file. The
multiprocess case runs in a child process of its own: the mode is chosen when
prometheus-client is imported, from ``PROMETHEUS_MULTIPROC_DIR``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from tangkal.livegauges import forget, forget_all

CHILD = textwrap.dedent(
    """
    import json
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    from tangkal.livegauges import forget, forget_all

    lag = Gauge("lag", "x", ["resolver"], multiprocess_mode="livemostrecent")
    lag.labels("a").set(3)
    lag.labels("b").set(4)

    def shown():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry).decode()

    before = shown()
    forget(lag, "a")
    after = shown()
    lag.labels("a").set(5)  # set again: shown again
    again = shown()
    forget_all(lag)
    cleared = shown()
    other = Gauge("other", "x", ["k"], multiprocess_mode="liveall")
    other.labels("k").set(1)
    try:
        forget(other, "k")
        refused = False
    except ValueError:
        refused = True
    print(json.dumps([before, after, again, cleared, refused]))
    """
)


def test_in_multiprocess_mode_a_forgotten_series_leaves_the_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    before, after, again, cleared, refused = json.loads(r.stdout)
    assert 'lag{resolver="a"} 3.0' in before and 'lag{resolver="b"} 4.0' in before
    assert 'resolver="a"' not in after and 'lag{resolver="b"} 4.0' in after
    assert 'lag{resolver="a"} 5.0' in again
    assert "resolver=" not in cleared
    assert refused  # only the newest-value modes can hide a series this way
    assert "UserWarning" not in r.stderr


def test_in_one_process_forget_is_remove() -> None:
    registry = CollectorRegistry()
    lag = Gauge("lag", "x", ["resolver"], registry=registry)
    lag.labels("a").set(3)
    lag.labels("b").set(4)
    forget(lag, "a")
    forget(lag, "never")  # a series it never had: nothing to do
    text = generate_latest(registry).decode()
    assert 'resolver="a"' not in text and 'lag{resolver="b"} 4.0' in text
    forget_all(lag)
    assert "resolver=" not in generate_latest(registry).decode()
