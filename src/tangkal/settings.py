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

from pydantic import Field, IPvAnyNetwork, ValidationError, ValidationInfo, field_validator
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
    require_totp: bool = Field(
        default=False,
        description="Officials and admins must give a TOTP code (or a single-use recovery "
        "code) after their password to sign in to the console; enrol each with "
        "`tangkal user totp enrol`. Off by default; anyone enrolled is asked for the code "
        "either way. A value that is not a boolean stops the server at start.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="PEM Ed25519 private key that signs the audit checkpoints; default "
        "`audit-signing.key` in the data directory, generated on first start. A file that is "
        "not such a key stops the server at start. Keep it outside the database and back it "
        "up: checkpoints others hold are checked against its public key.",
    )
    audit_checkpoint_interval: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between the signed audit checkpoints the server makes by itself "
        "(one only when the chain has grown).",
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
    rpz_tcp_connections: int = Field(
        default=1024,
        ge=8,
        le=1_000_000,
        description="TCP connections the RPZ primary holds at once (transfers and queries); "
        "also how many may be waiting for their first query, the oldest of which is closed "
        "when more arrive (docs/security.md, DNS primary under flood).",
    )
    rpz_tcp_reserved: int = Field(
        default=256,
        ge=0,
        description="Of `rpz_tcp_connections`, how many only authenticated subscribers "
        "(TSIG-signed or from an allow-listed address) may hold: anonymous connections "
        "never take them, so a flood cannot stop zone transfers. Less than "
        "`rpz_tcp_connections`.",
    )
    rpz_tcp_per_address: int = Field(
        default=16,
        ge=1,
        le=1_000_000,
        description="TCP connections one source address not on any allow-list may hold "
        "before it authenticates (a TSIG-signed query moves it out of this count).",
    )
    rpz_tcp_per_prefix: int = Field(
        default=64,
        ge=1,
        le=1_000_000,
        description="The same for a whole /24 (IPv4) or /64 (IPv6); at least "
        "`rpz_tcp_per_address`.",
    )
    rpz_tcp_idle_first: float = Field(
        default=3.0,
        gt=0,
        le=120,
        description="Seconds a new TCP connection may stay silent before its first query, "
        "and an anonymous one between queries; also the most a query's bytes may take "
        "(RFC 7766 6.2.3).",
    )
    rpz_tcp_idle: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds an authenticated subscriber's connection may stay idle between "
        "queries (a transfer being written is not idle).",
    )
    rpz_refused_log_interval: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds between the RPZ primary's summary log lines of refused "
        "connections and requests (counts per reason, top addresses); never one per refusal.",
    )

    @field_validator("rpz_tcp_reserved")
    @classmethod
    def _reserved_below_total(cls, value: int, info: ValidationInfo) -> int:
        """A reserve as large as the whole would leave nothing for anyone else's SOA."""
        total = info.data.get("rpz_tcp_connections")
        if total is not None and value >= total:
            raise ValueError(f"must be less than TANGKAL_RPZ_TCP_CONNECTIONS ({total})")
        return value

    @field_validator("rpz_tcp_per_prefix")
    @classmethod
    def _prefix_not_below_address(cls, value: int, info: ValidationInfo) -> int:
        """A /24 holds the address: a smaller prefix limit would silently be the limit."""
        each = info.data.get("rpz_tcp_per_address")
        if each is not None and value < each:
            raise ValueError(f"must be at least TANGKAL_RPZ_TCP_PER_ADDRESS ({each})")
        return value

    rpz_xot_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the RPZ primary's zone transfer over TLS (XoT, RFC 9103; 853 "
        "is the registered one), on the same host as the DNS port; TLS 1.3, ALPN `dot`, "
        "the same subscriber authorisation (TSIG or allow-list) and connection limits as "
        "plain TCP. Unset: no XoT. Needs `rpz_xot_cert_file` and `rpz_xot_key_file`.",
    )
    rpz_xot_cert_file: Path | None = Field(
        default=None,
        description="PEM certificate (chain) the XoT listener presents. A file that cannot "
        "be read or holds no certificate stops the server at start.",
    )
    rpz_xot_key_file: Path | None = Field(
        default=None,
        validate_default=True,
        description="PEM private key of `rpz_xot_cert_file`. A key that cannot be read or "
        "does not belong to the certificate stops the server at start.",
    )

    @field_validator("rpz_xot_cert_file")
    @classmethod
    def _xot_certificate_parses(cls, value: Path | None) -> Path | None:
        """Read now, so that a bad file stops ``serve`` with this setting's name."""
        if value is not None:
            from tangkal.rpz.xot import check_certificate

            check_certificate(value)
        return value

    @field_validator("rpz_xot_key_file")
    @classmethod
    def _xot_key_fits(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """XoT needs the port, the certificate and its key together; the key is loaded
        with the certificate here, as the listener will load them."""
        port = info.data.get("rpz_xot_port")
        cert = info.data.get("rpz_xot_cert_file")
        if "rpz_xot_cert_file" not in info.data:
            return value  # the certificate itself was refused: that error says why
        if port is None and cert is None and value is None:
            return value
        if port is None or cert is None or value is None:
            raise ValueError(
                "TANGKAL_RPZ_XOT_PORT, TANGKAL_RPZ_XOT_CERT_FILE and TANGKAL_RPZ_XOT_KEY_FILE "
                "go together: set all three for XoT, or none"
            )
        from tangkal.rpz.xot import server_context

        server_context(cert, value)
        return value

    landing_host: str = Field(
        default="laman-labuh.tangkal.id.",
        description="Host of the landing page (laman labuh) that `landing` blocks point to.",
    )
    rpz_landing: str = Field(
        default="",
        description="The landing page (laman labuh) of `landing` blocks in the RPZ: "
        "a name, `laman.example.` or `cname:<name>` (a CNAME: BIND, Unbound, PowerDNS), or "
        "addresses, `192.0.2.80,2001:db8::80` or `a:<ipv4>,aaaa:<ipv6>` (address records: "
        "what Knot Resolver needs). Empty: `cname:` TANGKAL_LANDING_HOST. "
        "A value that is not one of these forms stops the server at start; a change bumps "
        "the zone's serial at the next start (docs/rpz-subscribers.md).",
    )

    @field_validator("rpz_landing")
    @classmethod
    def _landing_parses(cls, value: str) -> str:
        """Parsed here so that a bad value stops ``serve``; kept in its canonical text."""
        if not value.strip():
            return ""
        from tangkal.errors import InvalidInput
        from tangkal.rpz.values import Landing

        try:
            return Landing.parse(value).text()
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None

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
    max_order_evidence_bytes: int = Field(
        default=40 * 1024 * 1024,
        ge=1,
        description="Largest total of an order's evidence files (decoded bytes), at filing and "
        "with files added later (docs/security.md, Uploads and request sizes).",
    )
    max_order_evidence_files: int = Field(
        default=20, ge=1, le=10_000, description="Most evidence files one order may carry."
    )
    max_request_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body of every route that is not an upload; counted while "
        "it is read, refused with 413 at the limit (a larger Content-Length at once).",
    )
    max_upload_request_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest request body of the upload routes (order filing with evidence, "
        "evidence, hash-bank content, import and match, and their console forms); at least "
        "the base64 of `max_order_evidence_bytes` fits.",
    )
    hash_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Uploads hashed at once per process, in threads off the event loop (the "
        "API keeps answering while they run).",
    )
    hash_memory_budget: int = Field(
        default=512 * 1024 * 1024,
        ge=16 * 1024 * 1024,
        description="Bytes that the uploads being hashed may take decoded at once per process, "
        "estimated from each image's header before decoding; an upload that alone needs more "
        "is refused (413), others wait their turn.",
    )
    hash_max_image_pixels: int = Field(
        default=25_000_000,
        ge=1,
        le=178_956_970,
        description="Largest image (width x height) an upload may be, read from its header "
        "before decoding; a larger one is refused with 413 (decompression bombs).",
    )
    hash_max_video_pixels: int = Field(
        default=4096 * 2160,
        ge=1,
        le=7680 * 4320,
        description="Largest video frame (width x height) an upload may have, read from its "
        "stream header by ffprobe before decoding; a larger one is refused with 413. The "
        "default is DCI 4K (4096x2160); at most 8K (7680x4320).",
    )
    hash_queue_wait: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds an upload waits for hashing room (workers, memory budget) before "
        "it is answered 503 with Retry-After.",
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
