"""Settings, read once from the environment (prefix ``THUMBS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THUMBS_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path(".thumbs"))
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    # FastAPI's OpenTelemetry instrumentation (request spans, metrics and logs sent to the
    # providers the operator configures, e.g. with `opentelemetry-instrument`). Off unless
    # asked for: looking for configured providers on every request cost ~5% of a create.
    telemetry: bool = False
    # Apply pending Alembic migrations when the server starts.  When false the server
    # refuses to start on an out-of-date schema and says which command to run.
    auto_migrate: bool = True
    # Seconds a verified credential (an assistant lookup, an end user a create named) stays
    # in the per-process caches.
    auth_cache_ttl: float = Field(default=30.0, ge=0)
    # A cached credential is used only while the revocation epoch was confirmed less than
    # this many seconds ago (one small read per process, not per request): a revoked API
    # key is refused by every server process within this bound, whatever the cache holds.
    auth_revocation_check: float = Field(default=2.0, ge=0, le=60)
    # Seconds between two runs of the server's cleanup of expired records (idempotency
    # keys older than 24 hours); each run deletes at most cleanup_batch rows. 0: never
    # (then run `thumbs db cleanup` from cron).
    cleanup_interval: float = Field(default=3600.0, ge=0)
    cleanup_batch: int = Field(default=1000, ge=1, le=100_000)
    # Group commit: the most feedback rows written in one transaction.
    write_batch_max: int = Field(default=1024, ge=1)
    # Where group commits run: "process" in a writer process of the server's own
    # (thumbs.store.writer_process: a core and a GIL of its own), "inline" on the event loop
    # (SQLite), "thread" on a dedicated writer thread (PostgreSQL). "auto": "process" under
    # `thumbs serve` (thumbs.runtime.served_settings), otherwise inline on SQLite and a
    # thread on PostgreSQL (an app built in-process starts no process of its own).
    writer_mode: Literal["auto", "inline", "thread", "process"] = "auto"
    # Creates waiting for the writer at most; past that a create is answered 503 (20503,
    # Retry-After) before anything is written.
    write_queue_max: int = Field(default=10_000, ge=1)
    # Store connections: pooled per process (and up to twice as many more under load); the
    # seconds a request waits for one before it is answered 503; PostgreSQL's connect
    # timeout (whole seconds, at least 2) and the longest one statement may run (0: none).
    db_pool_size: int = Field(default=8, ge=1, le=1000)
    # Threads that read pages of the feedback list at once (a limiter of their own; writes
    # and other routes are not bound by it); unset: by the store (``thumbs.runtime.read_threads``).
    read_threads: int | None = Field(default=None, ge=1, le=1000)
    # Arenas the C allocator (glibc's malloc) may use per server process; 0 leaves its own
    # default (eight per core) or MALLOC_ARENA_MAX. More arenas kept more freed memory:
    # under load a server on SQLite grew without levelling off (thumbs/kit/malloc.py).
    malloc_arenas: int = Field(default=2, ge=0, le=1024)
    db_pool_timeout: float = Field(default=3.0, gt=0)
    db_connect_timeout: int = Field(default=5, ge=2)
    db_statement_timeout: float = Field(default=30.0, ge=0)
    # Secret for signing console sessions and CSRF tokens.  Required in production.
    secret_key: str | None = None
    # Responder time limit (seconds) for OpenAI-compatible endpoints: the whole call, and
    # the part of it spent connecting.
    responder_timeout: float = Field(default=30.0, gt=0)
    responder_connect_timeout: float = Field(default=5.0, gt=0)
    # Golden examples given to a model as few-shot examples.
    responder_examples: int = Field(default=4, ge=0, le=50)
    # Console password hashing: argon2id with RFC 9106's low-memory profile ("default"), or a
    # cheap profile that only the test suite may use (refused in production).
    hash_profile: Literal["default", "cheap-for-tests"] = "default"
    # Failed console sign-ins allowed per email (and 4x that per client address) within
    # signin_window seconds, per server process; then sign-in is refused until the window
    # moves on.
    signin_max_failures: int = Field(default=5, ge=1, le=1000)
    signin_window: float = Field(default=900.0, gt=0)
    # Console password checks running at once per server process (each holds the hash
    # profile's memory, 64 MiB by default), and sign-ins that may wait for one; beyond
    # that, sign-in answers 503 with Retry-After.
    signin_hash_slots: int = Field(default=2, ge=1, le=64)
    signin_hash_waiting: int = Field(default=16, ge=0, le=10_000)
    # Console sign-in sessions last this many seconds (default 12 hours).
    console_session_ttl: float = Field(default=12 * 3600.0, gt=0)
    # What a client may send, and how long it may take (thumbs/server.py):
    # the request line and headers together (larger: 431), the seconds to send them (counted
    # from the connection's opening or the request's first byte) and the seconds to send the
    # body once the headers are in (late: 408, connection closed), and the open connections
    # per server process (beyond: new requests are answered 503).
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=1024, ge=1)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("THUMBS_SECRET_KEY must be set when THUMBS_ENV=production")
        if self.env == "production" and self.hash_profile != "default":
            raise ValueError("THUMBS_HASH_PROFILE must be 'default' in production")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'thumbs.db').as_posix()}"


def normalize_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
