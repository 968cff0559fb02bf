"""Settings, declared once (name, default, help) and read from the environment and an optional
TOML file. Unknown keys are an error, in the file and in GRIDSCOPE_-prefixed variables."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "GRIDSCOPE_"
CONFIG_FILE_ENV = "GRIDSCOPE_CONFIG"


class Settings(BaseSettings):
    """Everything gridscope can be configured with. See config.example.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, populate_by_name=True
    )

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/gridscope",
        validation_alias=AliasChoices("DATABASE_URL", "GRIDSCOPE_DATABASE_URL", "database_url"),
        description="PostgreSQL 15+ with PostGIS 3 (libpq URL).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "GRIDSCOPE_REDIS_URL", "redis_url"),
        description="Redis 7 used as the query cache and the live worker-position store.",
    )
    timezone: str = Field("Asia/Shanghai", description="Local time zone for days, clocks, display.")
    jurisdiction: str = Field(
        "",
        description="Upper bound of the whole deployment: every user, wall link and token sees at"
        " most this region or grid code prefix; empty = the whole loaded city.",
    )
    refresh_alerts_s: int = Field(10, ge=2, le=600, description="Ticker and new urgent cases.")
    refresh_workers_s: int = Field(15, ge=5, le=600, description="Worker positions.")
    refresh_counters_s: int = Field(30, ge=5, le=600, description="KPI ribbon and map colours.")
    refresh_analytics_s: int = Field(3600, ge=60, le=86400, description="Heavy analytics.")
    cache_ttl_s: int = Field(
        3600, ge=1, description="Safety-net expiry of cache entries (they are versioned anyway)."
    )
    explore_columns_days: int = Field(
        400,
        ge=0,
        le=1200,
        description="Days of tickets the workbench keeps as in-memory columns per server process"
        " (about 75 bytes per ticket); 0 = answer every view from SQL.",
    )
    export_dir: str = Field(
        "/tmp/gridscope-exports",
        description="Where workbench exports are written (kept an hour, then removed).",
    )
    basemap_url: str = Field(
        "", description="XYZ tile URL template; empty = no basemap, no request leaves the machine."
    )
    basemap_attribution: str = Field("", description="Attribution text for the basemap.")
    basemap_crs: str = Field(
        "wgs84",
        description="Datum of the basemap tiles: 'wgs84' (Tianditu/CGCS2000, OSM) or 'gcj02'.",
    )
    title: str = Field("网格化服务管理指挥中心", description="Title shown on the big screen.")
    hotline: str = Field("12345", description="Supervision hotline shown on grid cards.")
    db_pool_max: int = Field(8, ge=1, le=100, description="Connections per server process.")
    statement_timeout_ms: int = Field(
        15000, ge=100, description="Every query runs under this limit."
    )
    database_read_url: str = Field(
        "",
        validation_alias=AliasChoices(
            "DATABASE_READ_URL", "GRIDSCOPE_DATABASE_READ_URL", "database_read_url"
        ),
        description="Streaming replicas for the read side (screen, map, analytics): one or more"
        " libpq URLs separated by commas or spaces; empty = read from database_url. Writes always"
        " go to database_url.",
    )
    db_wait_s: float = Field(
        2.0,
        ge=0.1,
        le=60,
        description="Longest wait for a pooled connection, a connect or a lock before a request"
        " answers 503: short, so an outage or a lock answers fast instead of tying up threads.",
    )
    version_poll_ms: int = Field(
        1000,
        ge=50,
        le=60000,
        description="How often each server process re-reads the data version for the wall's"
        " feeds (the only per-request database read a feed makes is sampled at this rate).",
    )
    wall_playlist: str = Field(
        "",
        description="Default rotation of wall links that have none of their own, e.g."
        " 'overview:60,towns:20,overdue:30' (view:seconds); empty = no rotation.",
    )
    workers: int = Field(4, ge=1, le=64, description="gunicorn worker processes for serve.")
    worker_max_requests: int = Field(
        100_000,
        ge=0,
        le=100_000_000,
        description="A gunicorn worker is replaced by a fresh one after this many requests"
        " (each worker draws up to 10 % more, so they never restart together): a wall server"
        " runs for weeks, and what heap fragmentation a worker gathers goes with it; 0 = never.",
    )
    host: str = Field("127.0.0.1", description="Address serve binds to.")
    port: int = Field(8050, ge=1, le=65535, description="Port serve binds to.")
    # Access (issue #9, docs/access.md).
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs session cookies; empty = a random key generated once and kept in the"
        " database (gridscope_meta), shared by every worker and restart.",
    )
    session_cookie_secure: bool = Field(
        False, description="Mark session cookies Secure (set when served over HTTPS)."
    )
    session_hours: int = Field(
        12, ge=1, le=24 * 30, description="A signed-in user's session lasts this long."
    )
    wall_session_days: int = Field(
        400, ge=1, le=3650, description="A wall session opened from a wall link lasts this long."
    )
    login_rate: str = Field(
        "20 per minute", description="Sign-in attempts allowed per client address (Redis)."
    )
    lockout_after: int = Field(
        5, ge=1, le=100, description="Failed sign-ins in a row that lock an account."
    )
    lockout_minutes: int = Field(15, ge=1, le=1440, description="How long a lockout lasts.")
    demo_mode: bool = Field(
        False,
        description="Demo deployment: the demo accounts' published passwords are accepted."
        " Outside demo mode weak or published passwords are refused.",
    )
    audit_retention_days: int = Field(
        365,
        ge=30,
        le=3650,
        description="Audit rows older than this are purged (gridscope audit"
        " purge, and daily by sweep).",
    )
    track_retention_days: int = Field(
        30, ge=1, le=366, description="Worker tracks (L4) older than this are purged by sweep."
    )
    heat_min_k: int = Field(
        5,
        ge=2,
        le=1000,
        description="A heat cell is drawn only when it holds at least this many"
        " tickets (k-anonymity: no cell pins one address).",
    )
    point_tolerance_m: float = Field(
        50.0,
        ge=0,
        le=5000,
        description="How far outside its jurisdiction or grid a reported"
        " point may lie (GPS error) before the API refuses it.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=16 * 1024,
        le=64 * 1024 * 1024,
        description="Largest request body on any route (callbacks, API, forms); larger gets 413.",
    )
    frame_ancestors: str = Field(
        "", description="Origins allowed to frame the pages (CSP frame-ancestors); empty = none."
    )
    ranking_weights: tuple[float, float, float] = Field(
        (0.4, 0.5, 0.1),
        description="综合指标值 weights of closure rate, on-time rate and (1 − rework rate), as"
        " DOMAIN.md §5 sets them by default; they must add up to 1.",
    )
    worker_ranking_weights: tuple[float, float, float] = Field(
        (0.4, 0.3, 0.3),
        description="Grid workers' score weights of on-time reporting, on-time verification and"
        " self-resolution (the measures a worker answers for); they must add up to 1.",
    )
    analytics_targets: dict[str, float] = Field(
        {
            "closure_rate": 0.95,
            "on_time_rate": 0.90,
            "report_on_time_rate": 0.95,
            "verify_on_time_rate": 0.95,
            "satisfaction_rate": 0.90,
            "patrol_coverage": 0.90,
        },
        description="Target of a measure drawn as a line on its card (measure key = fraction);"
        " leave a measure out for no target.",
    )
    hotspot_alpha: float = Field(
        0.001,
        gt=0,
        lt=0.5,
        description="A grid is a hotspot when a Poisson test puts its period count above its own"
        " baseline at this significance (one-sided, per grid).",
    )
    hotspot_baseline_periods: int = Field(
        6, ge=2, le=24, description="Earlier periods of the same length a grid's baseline averages."
    )
    recurring_radius_m: float = Field(
        50.0, ge=5, le=500, description="Tickets this close with the same category recur."
    )
    recurring_days: int = Field(
        90, ge=7, le=366, description="Window in which same-place same-category tickets recur."
    )
    recurring_min: int = Field(
        3, ge=2, le=50, description="Tickets at one place that make a recurring problem."
    )
    fixed_now: datetime | None = Field(
        None,
        description="Freeze the server's clock at this instant (ISO 8601 with a UTC offset), for"
        " tests and for replaying a past moment of a demo; empty = the system clock.",
    )

    @field_validator("ranking_weights", "worker_ranking_weights")
    @classmethod
    def _weights(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(w < 0 for w in value) or abs(sum(value) - 1.0) > 1e-6:
            raise ValueError(f"weights must be ≥ 0 and add up to 1 (got {value})")
        return value

    @field_validator("analytics_targets")
    @classmethod
    def _targets(cls, value: dict[str, float]) -> dict[str, float]:
        from domain.measures import MEASURES

        for key, target in value.items():
            if key not in MEASURES:
                raise ValueError(f"no measure {key!r} (one of {', '.join(MEASURES)})")
            if MEASURES[key].kind == "rate" and not 0 <= target <= 1:
                raise ValueError(f"target of {key} must be a fraction 0–1 (got {target})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://")
        return value

    @field_validator("database_read_url")
    @classmethod
    def _postgres_read_urls(cls, value: str) -> str:
        for url in value.replace(",", " ").split():
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(f"each read URL must start with postgresql:// (got {url[:40]!r})")
        return value

    @field_validator("wall_playlist")
    @classmethod
    def _playlist(cls, value: str) -> str:
        from domain.playlist import PlaylistError, normalise_playlist

        try:
            return normalise_playlist(value)
        except PlaylistError as exc:
            raise ValueError(exc.message) from None

    @field_validator("basemap_crs")
    @classmethod
    def _basemap_crs(cls, value: str) -> str:
        if value not in ("wgs84", "gcj02"):
            raise ValueError("must be 'wgs84' or 'gcj02'")
        return value

    @field_validator("fixed_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-26T09:15:00+08:00")
        return value

    @property
    def read_urls(self) -> tuple[str, ...]:
        """The replica URLs of ``database_read_url`` (empty: reads go to the primary)."""
        return tuple(u for u in self.database_read_url.replace(",", " ").split() if u)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_FILE_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


def unknown_env_keys(environ: dict[str, str] | None = None) -> list[str]:
    """GRIDSCOPE_* variables that name no setting (pydantic ignores unknown env vars)."""
    environ = dict(os.environ if environ is None else environ)
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {CONFIG_FILE_ENV}
    return sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known)


def load_settings(**overrides: Any) -> Settings:
    """Settings from env + file + overrides; raises ValueError naming unknown keys."""
    unknown = unknown_env_keys()
    if unknown:
        raise ValueError(f"unknown setting(s) in the environment: {', '.join(unknown)}")
    path = os.environ.get(CONFIG_FILE_ENV)
    if path and not Path(path).is_file():
        raise ValueError(f"{CONFIG_FILE_ENV}={path}: no such file")
    return Settings(**overrides)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
