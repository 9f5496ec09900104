"""Imports every domain package's models so the metadata is complete.

Alembic's autogenerate and the test factories need one place that knows all tables; each
domain package adds its models module here and nowhere else.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = [
    "tangkal.accounts.models",
    "tangkal.audit.models",
    "tangkal.orders.models",
    "tangkal.delivery.models",
    "tangkal.rpz.models",
    "tangkal.blocklist.models",
    "tangkal.hashing.models",
    "tangkal.hashing.quarantine_models",
    "tangkal.sanctions.models",
    "tangkal.objections.models",
    "tangkal.normalisation.models",
    "tangkal.compliance.models",
]


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
