"""Settings read from the environment, and the event store environment derived from them."""

from __future__ import annotations

import binascii
import os
from base64 import b64decode
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from eventsourcing.cryptography import AESCipher

from infrastructure.files import private_file, secure_data_dir

KEY_BYTES = 32  # what `inspectorate key generate` makes (AES-256); 16 and 24 are accepted too


class SettingsError(ValueError):
    """A setting read from the environment is malformed; the message names it and says what fits."""


class CipherKeyError(SettingsError):
    """INSPECTORATE_CIPHER_KEY is not an AES key in base64."""


def generate_cipher_key() -> str:
    """A new random key for INSPECTORATE_CIPHER_KEY: 32 bytes in base64 (44 characters)."""
    return AESCipher.create_key(KEY_BYTES)


def check_cipher_key(key: str) -> None:
    """Refuse a key the cipher would choke on later (mid-request, as a traceback) — at start, by name."""
    try:
        size = len(b64decode(key.strip().encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError):
        size = -1
    if size not in AESCipher.KEY_SIZES:
        raise CipherKeyError(
            "INSPECTORATE_CIPHER_KEY is malformed: a key is 16, 24 or 32 random bytes in base64 "
            "(44 characters for 32 bytes, e.g. 'inspectorate key generate' prints one)"
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("var"))
    database_url: str | None = None
    cipher_key: str | None = None
    rate_limit: int | None = None  # requests per token per minute; None: no limit
    # The base of problem `type` and event `dataschema` URLs; both resolve on the service.
    public_url: str = "http://127.0.0.1:8000"
    # Hosts a webhook may be delivered to (lower case); nothing else, so no call into the server's network.
    webhook_allowed_hosts: frozenset[str] = frozenset()
    # Signs the pages' session cookies; None: a key kept in the data folder (web.pages.session).
    secret_key: str | None = field(default=None, repr=False)
    # Cases of inspections published more than this many years ago are erased (docs/personal-data.md);
    # None: no automatic erasure.
    retention_years: int | None = None

    def __post_init__(self) -> None:
        if self.cipher_key is not None:
            check_cipher_key(self.cipher_key)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("INSPECTORATE_DATA_DIR") or "var"),
            database_url=env.get("INSPECTORATE_DATABASE_URL") or None,
            cipher_key=env.get("INSPECTORATE_CIPHER_KEY") or None,
            rate_limit=_positive_int(env.get("INSPECTORATE_RATE_LIMIT"), "INSPECTORATE_RATE_LIMIT"),
            public_url=_public_url(env.get("INSPECTORATE_PUBLIC_URL")),
            retention_years=_positive_int(env.get("INSPECTORATE_RETENTION_YEARS"), "INSPECTORATE_RETENTION_YEARS"),
            webhook_allowed_hosts=frozenset(
                host.strip().lower().rstrip(".")
                for host in (env.get("INSPECTORATE_WEBHOOK_ALLOWED_HOSTS") or "").split(",")
                if host.strip()
            ),
            secret_key=env.get("INSPECTORATE_SECRET_KEY") or None,
        )

    @property
    def is_postgres(self) -> bool:
        return (self.database_url or "").startswith("postgresql")

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def read_url(self) -> str:
        """SQLAlchemy URL of the read side (views, tokens, audit of reads)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.views_path.resolve()}"

    @property
    def views_path(self) -> Path:
        return self.data_dir / "views.sqlite"

    def prepare_local_files(self) -> None:
        """Before SQLite creates them: the data folder 0700 and the database files 0600.

        SQLite gives a database's -wal, -shm and journal files the database file's own mode, so
        they follow (infrastructure/files.py). A folder or file found more open is tightened.
        """
        if self.database_url is None:
            secure_data_dir(self.data_dir)
            private_file(self.events_path)
            private_file(self.views_path)
        elif self.database_url.startswith("sqlite"):
            path = self.database_url.split("///", 1)[-1]
            if path and not path.startswith((":memory:", "file:")):
                private_file(Path(path))

    def event_store_env(self, *, create_table: bool = True) -> dict[str, str]:
        """Environment for the eventsourcing library's built-in recorders."""
        env: dict[str, str] = {"CREATE_TABLE": "y" if create_table else "n"}
        if self.is_postgres:
            url = urlparse(self.database_url.replace("+psycopg", ""))  # type: ignore[union-attr]
            env.update(
                # The library's factory, tuned to fail fast in an outage (infrastructure/availability.py).
                PERSISTENCE_MODULE="infrastructure.availability:FailFastPostgresFactory",
                POSTGRES_DBNAME=url.path.lstrip("/"),
                POSTGRES_HOST=url.hostname or "127.0.0.1",
                POSTGRES_PORT=str(url.port or 5432),
                POSTGRES_USER=unquote(url.username or ""),
                POSTGRES_PASSWORD=unquote(url.password or ""),
                # Seconds to wait for a pooled connection: in an outage a request gives up after this.
                POSTGRES_CONNECT_TIMEOUT="1",
                POSTGRES_LOCK_TIMEOUT="5",
                # No ping per checkout: a dead connection fails its statement at once and the
                # fail-fast datastore flushes the pool and retries once, which recovers faster
                # after a database restart than the pool's ping-and-back-off loop.
                POSTGRES_PRE_PING="n",
                POSTGRES_POOL_SIZE="5",
                POSTGRES_MAX_OVERFLOW="10",
                APPLICATION_RECORDER_TOPIC="infrastructure.eventstore:PostgresEventRecorder",
            )
        elif self.database_url and self.database_url.startswith("sqlite"):
            path = self.database_url.split("///", 1)[-1]
            self.prepare_local_files()
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=path,
                SQLITE_LOCK_TIMEOUT="10",
                APPLICATION_RECORDER_TOPIC="infrastructure.eventstore:SQLiteEventRecorder",
            )
        else:
            self.prepare_local_files()
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=str(self.events_path.resolve()),
                SQLITE_LOCK_TIMEOUT="10",
                APPLICATION_RECORDER_TOPIC="infrastructure.eventstore:SQLiteEventRecorder",
            )
        if self.cipher_key:
            env.update(
                CIPHER_TOPIC="eventsourcing.cryptography:AESCipher",
                CIPHER_KEY=self.cipher_key,
                COMPRESSOR_TOPIC="eventsourcing.compressor:ZlibCompressor",
            )
        return env


def _positive_int(value: str | None, name: str) -> int | None:
    """An optional positive whole number from the environment; a typo fails at start, not silently."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from None
    return number if number > 0 else None


def _public_url(value: str | None) -> str:
    """The service's public base URL (scheme and host, perhaps a path), without a trailing slash."""
    if value is None or not value.strip():
        return Settings.public_url
    url = urlparse(value.strip())
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise SettingsError(
            f"INSPECTORATE_PUBLIC_URL must be an http(s) URL such as https://inspectorate.example.org, not {value!r}"
        )
    return value.strip().rstrip("/")
