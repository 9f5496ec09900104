"""Settings from ``TANGKAL_*`` environment variables.

One object, built once per process, so that every part reads the same configuration and a
typo in a variable name is not silently ignored for one part and honoured by another.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tangkal.errors import ConfigurationError

PREFIX = "TANGKAL_"

#: ``TANGKAL_*`` names that are not settings but are read straight from ``os.environ`` by
#: the test suite, the scripts and benches, and the server itself, so
#: :func:`check_environment` lets them through (patterns in ``fnmatch`` style):
#: the tests (``tests/support.py``, ``tests/conftest.py``, the browser tests), ``scripts/test``
#: and ``.ci/run``, ``bench/``, and what ``tangkal serve --workers N`` hands its workers
#: (``tangkal.api.asgi.ENV_*``). A new one read that way must be added here, or ``serve``
#: refuses to start in an environment that sets it.
NOT_SETTINGS = (
    "TANGKAL_TEST_*",  # TANGKAL_TEST_PG, TANGKAL_TEST_BACKENDS, TANGKAL_TEST_SOP, ...
    "TANGKAL_REQUIRE_PG",
    "TANGKAL_SCREENSHOTS",
    "TANGKAL_BENCH_PG",
    "TANGKAL_BENCH_TOKEN",
    "TANGKAL_SERVE_PRIMARY_LOCK",
    "TANGKAL_SERVE_DNS_PORT",
    "TANGKAL_SERVE_DNS_HOST",
)


class Settings(BaseSettings):
    # Unknown TANGKAL_* names are not ignored by ``serve``: see check_environment.
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    database_url: str = Field(
        default="sqlite:///tangkal.db",
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    sop_profile: str = Field(default="indonesia", description="SOP profile name or file path.")
    secret_key: str | None = Field(
        default=None,
        description="Key for signing sessions; generated per data directory when absent.",
    )
    data_dir: Path = Field(
        default=Path("."), description="Where state files (RPZ snapshots...) live."
    )
    rpz_zone: str = Field(
        default="rpz.tangkal.",
        description="Name of the policy zone the RPZ primary serves (resolvers' `zone`).",
    )
    rpz_poll_interval: float = Field(
        default=0.25,
        gt=0,
        le=1.0,
        description=(
            "Seconds between the RPZ primary's fallback reads of the journal. Commits wake "
            "it at once (same process; PostgreSQL NOTIFY; SQLite file watch); this bounds "
            "the delay when no signal arrives (resolvers follow within 1 s)."
        ),
    )
    landing_host: str = Field(
        default="laman-labuh.tangkal.id.",
        description="Host of the landing page (laman labuh) that `landing` blocks point to.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Where the public reaches this server; links in messages and pages.",
    )
    max_evidence_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest evidence file accepted with an order."
    )
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest file accepted by the hash-bank uploads."
    )
    scheduler_interval: float = Field(
        default=1.0,
        description="Seconds between passes of the order scheduler, block expiry and the "
        "delivery worker.",
    )
    compliance_interval: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between periodic probe rounds (names under an open sanction or "
        "normalisation, and a rotating sample of the list).",
    )
    compliance_sample: int = Field(
        default=100, ge=0, description="Names of the rest of the list per periodic round."
    )
    compliance_settle: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Seconds after a change before its names are probed (NOTIFY and IXFR first).",
    )
    compliance_recheck: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before a result that is not compliant is probed again.",
    )
    compliance_rate: float = Field(
        default=50.0,
        gt=0,
        le=10000,
        description="Probe queries per second to one resolver, at most.",
    )
    delivery_timeout: float = Field(
        default=5.0, description="Seconds a platform's webhook has to answer one delivery."
    )
    webhook_allow_http: bool = Field(
        default=False,
        description="Accept `http://` webhook URLs (local tests only: the orders would travel "
        "unencrypted); off: a webhook URL must be `https://`.",
    )
    webhook_allow_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Networks, comma-separated (`10.20.0.0/16,fd00:1::/64`), that webhooks may "
        "reach although they are not public (an on-premises platform's); every other "
        "loopback, private, link-local, CGNAT, multicast or reserved address is refused when "
        "the delivery connects. Empty by default.",
    )

    @field_validator("webhook_allow_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """An environment variable is one string: split it on commas."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    log_level: str = Field(
        default="info", description="Least severe log level written: debug, info, warning, error."
    )
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="`console`: key=value lines for people; `json`: one JSON object per line "
        "on stderr, for a log collector.",
    )
    access_log: bool | None = Field(
        default=None,
        description="One log event per HTTP request (client, method, path, status); unset: "
        "on with the `json` log format, off with `console`.",
    )
    demo: bool = Field(
        default=False,
        description="Read by no part at present; accepted so that an environment "
        "that sets it still starts.",
    )
    opentelemetry: bool = Field(
        default=False,
        description=(
            "Let FastAPI report traces, metrics and logs to the global OpenTelemetry providers "
            "(set them up with the OTEL_* variables); off by default: /metrics is Prometheus."
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings; a value that cannot be used is a :class:`ConfigurationError` naming
    the variable, its value and why, not a pydantic traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, os.environ)) from None


def setting_names() -> list[str]:
    """Every ``TANGKAL_*`` variable that is a setting."""
    return sorted(PREFIX + name.upper() for name in Settings.model_fields)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``TANGKAL_*`` names in ``environ`` that are neither a setting nor one of
    :data:`NOT_SETTINGS` (compared case-insensitively, as pydantic-settings reads them)."""
    known = set(setting_names())
    return [
        name
        for name in sorted(environ)
        if name.upper().startswith(PREFIX)
        and name.upper() not in known
        and not any(fnmatchcase(name.upper(), pattern) for pattern in NOT_SETTINGS)
    ]


def check_environment() -> Settings:
    """Refuse an environment with a ``TANGKAL_*`` variable that is not a setting, then build
    the settings (which refuses an invalid value); both as a :class:`ConfigurationError`.

    pydantic-settings ignores a name it does not know, so a misspelt ``TANGKAL_DATABSE_URL``
    would leave a server running on the default SQLite file while its operator believes it
    uses PostgreSQL. ``tangkal serve`` calls this first, so that such a mistake stops the
    start with a message naming the variable and the setting it was probably meant to be.
    """
    unknown = unknown_variables(os.environ)
    if unknown:
        known = setting_names()
        problems = []
        for name in unknown:
            # Compared without the prefix every name shares, which would make any two alike.
            tails = [k.removeprefix(PREFIX) for k in known]
            close = difflib.get_close_matches(name.upper().removeprefix(PREFIX), tails, n=1)
            hint = f" (did you mean {PREFIX}{close[0]}?)" if close else ""
            problems.append(f"{name} is not a tangkal setting{hint}")
        raise ConfigurationError(
            "; ".join(problems)
            + ". It would be ignored, so tangkal does not start: correct the name or unset it."
            " The settings are " + ", ".join(known) + "."
        )
    return get_settings()


def _describe(exc: ValidationError, environ: Mapping[str, str]) -> str:
    """One sentence per invalid value: the variable as it is spelt in the environment,
    its value and pydantic's reason."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = PREFIX + field.upper()
        spelt = next((k for k in environ if k.upper() == variable), variable)
        value = environ.get(spelt, error.get("input"))
        problems.append(f"{spelt}={value!r} is not valid: {error['msg']}")
    return "; ".join(problems) + ". Correct the value or unset the variable."


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this makes the next read see it."""
    get_settings.cache_clear()
