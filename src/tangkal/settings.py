"""Settings from ``TANGKAL_*`` environment variables.

One object, built once per process, so that every part reads the same configuration and a
typo in a variable name is not silently ignored for one part and honoured by another.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TANGKAL_", extra="ignore")

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
    rpz_zone: str = "rpz.tangkal."
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
    landing_host: str = "laman-labuh.tangkal.id."
    public_base_url: str = "http://127.0.0.1:8080"
    max_evidence_bytes: int = 20 * 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    scheduler_interval: float = 1.0
    delivery_timeout: float = 5.0
    log_level: str = "info"
    demo: bool = False
    opentelemetry: bool = Field(
        default=False,
        description=(
            "Let FastAPI report traces, metrics and logs to the global OpenTelemetry providers "
            "(set them up with the OTEL_* variables); off by default: /metrics is Prometheus."
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this makes the next read see it."""
    get_settings.cache_clear()
