"""structlog set-up: one event per line, as ``key=value`` text or as JSON.

``TANGKAL_LOG_FORMAT=console`` (the default) keeps the lines people read in a terminal:
tangkal's events as ``key=value`` and uvicorn's own lines as uvicorn writes them.
``TANGKAL_LOG_FORMAT=json`` is for a log collector (journald, Loki, Elasticsearch): every
line on stderr is one JSON object, whoever logged it. tangkal's structlog events and the
standard-library records of uvicorn, SQLAlchemy, alembic and Python's warnings all go
through one handler on the root logger with one renderer, so nothing reaches stderr
unrendered and lines from different threads never interleave mid-line. Every object has
``timestamp`` (ISO 8601, UTC), ``level``, ``logger`` and ``event``.

The access log (``TANGKAL_ACCESS_LOG``; on by default with JSON, off on the console as
before) is uvicorn's, with its fields taken apart: ``event: "http request"``, ``client``,
``method``, ``path``, ``http_version`` and ``status``, so a collector can count by status
without parsing a sentence.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from tangkal.settings import Settings, get_settings

ACCESS_LOGGER = "uvicorn.access"


def access_log_enabled(settings: Settings | None = None) -> bool:
    """Whether uvicorn writes an access line per request: the setting, else on with JSON."""
    settings = settings or get_settings()
    if settings.access_log is not None:
        return settings.access_log
    return settings.log_format == "json"


def uvicorn_log_config(settings: Settings | None = None) -> dict[str, Any] | None:
    """What ``tangkal serve`` hands uvicorn as ``log_config``: with JSON, nothing (uvicorn
    then installs no handlers of its own, and its records reach the root handler set up by
    :func:`configure_logging`); on the console, uvicorn's default, as before."""
    settings = settings or get_settings()
    if settings.log_format == "json":
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG


def _access_fields(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access record as fields: its arguments are (client, method, path,
    HTTP version, status), rendered by uvicorn into one sentence otherwise."""
    record = event_dict.get("_record")
    args = event_dict.pop("positional_args", None)  # the formatter clears record.args
    is_access = record is not None and record.name == ACCESS_LOGGER
    if is_access and isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict["event"] = "http request"
        event_dict.update(
            client=client, method=method, path=path, http_version=http_version, status=status
        )
    return event_dict


def _record_logger_name(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("logger", record.name)
    return event_dict


def _configure_json(level: int) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        pass_foreign_args=True,  # uvicorn's access arguments, for _access_fields
        foreign_pre_chain=[*shared, _record_logger_name, _access_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers must not keep handlers of their own (a second, unrendered line).
    for name in ("uvicorn", "uvicorn.error", ACCESS_LOGGER):
        uv = logging.getLogger(name)
        uv.handlers = []
        uv.propagate = True
    logging.captureWarnings(True)  # Python's warnings as log events, not raw stderr text
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


def configure_logging() -> None:
    """Set up logging for this process from the settings (``serve`` and every worker)."""
    settings = get_settings()
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.log_format == "json":
        _configure_json(level)
        return
    logging.basicConfig(level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
