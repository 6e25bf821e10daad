"""One Settings object, read from ``TRUCELINE_*`` environment variables.

Nothing here opens a file or a connection: :func:`truceline.api.create_app` and the CLI
build what they need from a Settings, and tests build their own.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; each has a ``TRUCELINE_`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="TRUCELINE_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./data/truceline.db",
        description="sqlite:///path/to/file.db or postgresql://user:password@host:port/dbname",
    )
    open_reads: bool = Field(False, description="GETs outside /v1/audit/ need no key")
    max_body_bytes: int = Field(1_000_000, description="largest body for POST /v1/events")
    max_batch_body_bytes: int = Field(
        64_000_000, description="largest body for POST /v1/events/batch"
    )
    max_batch_events: int = Field(10_000, description="most events in one batch")
    max_page: int = Field(1_000, description="most entries or items in one JSON page")
    max_export_page: int = Field(
        100_000, description="most timeline items in one CSV or GeoJSON page"
    )
    max_export_page_bytes: int = Field(
        8_000_000,
        description="about how much text one CSV, GeoJSON or NDJSON page holds: a page "
        "stops at the first item past it, and its Link header names the rest",
    )
    read_model_path: str | None = Field(
        None,
        description="the read models' SQLite file; default: beside a SQLite store "
        "(truceline.projections.db), or data/projections-<dbname>.db for PostgreSQL",
    )
    projector: Literal["inline", "external"] = Field(
        "inline",
        description="inline: each serving process follows the log into the read model itself; "
        "external: a projector process of the read model does (truceline project, which "
        "truceline serve starts with --workers above 1) and serving processes only read",
    )
    group_commit: bool = Field(
        True, description="coalesce concurrent appends into one transaction (off: one each)"
    )
    max_queued_events: int = Field(
        30_000,
        description="events waiting for the writer beyond which an append is answered 503 "
        "at once (a request to an idle writer is always taken)",
    )
    append_timeout_seconds: float = Field(
        30.0, description="how long an append waits for its commit before answering 503"
    )
    read_wait_seconds: float = Field(
        10.0, description="how long a read with min_position waits before answering 503"
    )
    cors_origins: str = Field(
        "", description="comma-separated origins allowed by CORS; empty (default): CORS off"
    )
    sqlite_lock_timeout: int = Field(5, description="seconds to wait for SQLite's write lock")
    postgres_pool_size: int = Field(5, description="PostgreSQL connections per process")
    docs: bool = Field(True, description="serve the interactive API docs at /docs and /redoc")
    max_streams: int = Field(
        200, description="most open /v1/stream connections in one process (beyond: 503)"
    )
    max_streams_per_key: int = Field(
        4,
        description="most open /v1/stream connections per key, or per client address with "
        "open reads (beyond: 429)",
    )
    signing_key_path: str | None = Field(
        None,
        description="the Ed25519 key that signs checkpoints, a file outside the database "
        "(made by truceline signing-key create, mode 0600); default: beside a SQLite store "
        "(truceline.signing-key.pem), or data/signing-key-<dbname>.pem for PostgreSQL",
    )
    checkpoint_archive_path: str | None = Field(
        None,
        description="the file every signed checkpoint is appended to, one JSON a line, for "
        "auditors to keep; default: beside the signing key (.checkpoints.ndjson)",
    )
    checkpoint_every: int = Field(
        1_000, description="the server signs a checkpoint once this many entries are unsigned"
    )
    checkpoint_seconds: float = Field(
        60.0, description="... or this many seconds after the first unsigned entry"
    )
    rate_limit: str = Field(
        "100/second;3000/minute",
        description="requests a key may make (beyond: 429 with Retry-After); several "
        "limits separated by ';', as the limits library writes them; empty: none",
    )
    open_rate_limit: str = Field(
        "20/second;600/minute",
        description="requests one client address may make without a key, with open reads",
    )
    max_long_requests_per_key: int = Field(
        2,
        description="long requests (non-JSON exports, as_of reads, pages over 100 items, "
        "verify) one key, or one client address with open reads, may have running at once "
        "(beyond: 429)",
    )
    max_long_requests: int = Field(
        8, description="long requests running or queued in one process (beyond: 503)"
    )
    long_read_threads: int = Field(
        2, description="threads answering long requests, apart from appends and short reads"
    )
    scratch_path: str | None = Field(
        None,
        description="the folder where verify rebuilds the read models to compare them "
        "(checked for room first); default: the system's temporary folder",
    )
    stream_backlog: int = Field(
        10_000,
        description="how many log entries a /v1/stream client may fall behind before it is "
        "closed (it resumes with Last-Event-ID)",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="seconds a client has to send a request's line and headers, counted from "
        "its connection (or, on a kept-alive connection, from the request's first byte); "
        "beyond: 408 and the connection closed (closed without an answer if it sent nothing)",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="seconds a request body has to arrive once its headers are in, plus one "
        "second for every body_min_rate bytes received, and the longest it may go without a "
        "byte; beyond either: 408 and the connection closed",
    )
    body_min_rate: int = Field(
        50_000,
        ge=0,
        description="bytes a second a slow body must keep up to earn time beyond "
        "body_timeout_seconds (0: that timeout is a fixed deadline)",
    )
    max_header_bytes: int = Field(
        16_384, gt=0, description="largest request line and headers together, in bytes (431)"
    )
    max_headers: int = Field(100, gt=0, description="most header fields in one request (431)")
    max_connections: int = Field(
        500,
        gt=0,
        description="most open HTTP connections (or requests running) in one serving process; "
        "a request beyond is answered 503 with Retry-After and its connection closed. Open "
        "/v1/stream connections count: keep it well above max_streams",
    )
    max_buffered_body_bytes: int = Field(
        128_000_000,
        gt=0,
        description="bytes of request bodies being read at once in one serving process "
        "(beyond: 503 with Retry-After); at least max_batch_body_bytes, or the largest batch "
        "is never taken",
    )


class SettingsError(ValueError):
    """A setting that cannot be used; its message never holds a password."""


def redacted(database_url: str) -> str:
    """The URL with its password, if any, written as ``***``."""
    url = urlsplit(database_url)
    if url.password is None:
        return database_url
    netloc = url.netloc.replace(f":{url.password}@", ":***@", 1)
    return url._replace(netloc=netloc).geturl()


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment that opens the store named by ``database_url``."""
    database_url = settings.database_url
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        path = _sqlite_path(url.path)
        if not path:
            raise SettingsError(f"no file in database URL {redacted(database_url)!r}")
        private_folder(Path(path).parent)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": str(settings.sqlite_lock_timeout),
            "APPLICATION_RECORDER_TOPIC": "truceline.application.sqlite_store:SQLiteLogRecorder",
        }
    if url.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(settings.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(settings.postgres_pool_size),
            "POSTGRES_PRE_PING": "y",  # a restarted server's dead connections are replaced
            # An import holds one transaction open while it reads back and checks each chunk.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "600",
            "APPLICATION_RECORDER_TOPIC": (
                "truceline.application.postgres_store:PostgresLogRecorder"
            ),
        }
    raise SettingsError(
        f"unsupported database URL {redacted(database_url)!r}: use sqlite:///file.db or "
        "postgresql://..."
    )


def read_model_path(settings: Settings) -> str:
    """Where this process keeps its read models (see ``Settings.read_model_path``)."""
    if settings.read_model_path:
        return settings.read_model_path
    url = urlsplit(settings.database_url)
    if url.scheme == "sqlite":
        store = Path(_sqlite_path(url.path))
        return str(store.with_name(store.stem + ".projections.db"))
    return f"data/projections-{unquote(url.path.lstrip('/')) or 'postgres'}.db"


def signing_key_path(settings: Settings) -> Path:
    """Where the checkpoints' signing key is (see ``Settings.signing_key_path``)."""
    if settings.signing_key_path:
        return Path(settings.signing_key_path)
    url = urlsplit(settings.database_url)
    if url.scheme == "sqlite":
        store = Path(_sqlite_path(url.path))
        return store.with_name(store.stem + ".signing-key.pem")
    return Path(f"data/signing-key-{unquote(url.path.lstrip('/')) or 'postgres'}.pem")


def checkpoint_archive_path(settings: Settings) -> Path:
    """Where signed checkpoints are archived (see ``Settings.checkpoint_archive_path``)."""
    if settings.checkpoint_archive_path:
        return Path(settings.checkpoint_archive_path)
    key = signing_key_path(settings)
    return key.with_name(
        key.name.removesuffix(".pem").removesuffix(".signing-key") + ".checkpoints.ndjson"
    )


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file of the event store, as the database URL names it (relative to the
    current folder unless absolute); None for PostgreSQL."""
    url = urlsplit(settings.database_url)
    return Path(_sqlite_path(url.path)) if url.scheme == "sqlite" else None


def private_folder(folder: Path) -> None:
    """Make ``folder`` and each missing parent, mode 0700: the store, its keys and its
    read models are nobody else's to read. Folders that exist are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        with suppress(FileExistsError):  # another process made it meanwhile
            each.mkdir(mode=0o700)


def _sqlite_path(url_path: str) -> str:
    # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
    return unquote(url_path[1:] if url_path.startswith("/") else url_path)
