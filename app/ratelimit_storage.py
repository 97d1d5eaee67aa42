"""A `limits` storage on the project's database, so every gunicorn worker sees the same counts.

Flask-Limiter ships storages for Redis, Memcached and MongoDB only. This one keeps fixed-window counters in
one table, each change in its own short transaction on its own connection: a request whose session rolls
back still counts, and a count is never lost between two workers (the upsert is atomic on SQLite and
PostgreSQL alike).
"""
from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

SCHEME = "zhucun-db"
UPSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def now() -> float:
    """The clock every count is measured by (seconds since the epoch); tests move it instead of sleeping."""
    return time.time()


def as_datetime(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)


def as_timestamp(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


class RateLimitCounter(db.Model):
    """One rate limit's count in its current window (naive UTC, as every time in the database)."""
    __tablename__ = "rate_limit_counters"
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, index=True)


COUNTERS = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """Fixed-window counters in `rate_limit_counters`; `zhucun-db://` with the option `engine`."""
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, engine: sa.Engine | None = None,
                 **options):
        if engine is None:
            raise ConfigurationError(f"{SCHEME}:// needs the option `engine` (a SQLAlchemy engine)")
        if engine.dialect.name not in UPSERTS:
            raise ConfigurationError(f"{SCHEME}:// works on {', '.join(UPSERTS)}, not {engine.dialect.name}")
        self.engine = engine
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        moment = now()
        current, fresh = as_datetime(moment), as_datetime(moment + expiry)
        live = COUNTERS.c.expires_at > current
        insert = UPSERTS[self.engine.dialect.name](COUNTERS).values(key=key, count=amount, expires_at=fresh)
        upsert = insert.on_conflict_do_update(index_elements=[COUNTERS.c.key], set_={
            "count": sa.case((live, COUNTERS.c.count + amount), else_=amount),
            "expires_at": sa.case((live, COUNTERS.c.expires_at), else_=fresh),
        }).returning(COUNTERS.c.count)
        with self.engine.begin() as connection:
            count = connection.execute(upsert).scalar_one()
        if count == amount:  # a new window began: a good moment to drop the windows that have ended
            self.purge(current)
        return count

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.scalar(sa.select(COUNTERS.c.count).where(
                COUNTERS.c.key == key, COUNTERS.c.expires_at > as_datetime(now())))
        return count or 0

    def get_expiry(self, key: str) -> float:
        moment = now()
        with self.engine.connect() as connection:
            expires_at = connection.scalar(sa.select(COUNTERS.c.expires_at).where(
                COUNTERS.c.key == key, COUNTERS.c.expires_at > as_datetime(moment)))
        return as_timestamp(expires_at) if expires_at else moment

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(COUNTERS).where(COUNTERS.c.key == key))

    def purge(self, before: dt.datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(COUNTERS).where(COUNTERS.c.expires_at <= before))
