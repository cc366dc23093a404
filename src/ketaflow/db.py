"""Database foundation: declarative Base, engine with the right pragmas, one transaction per use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import DateTime, Enum, MetaData, Select, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (no tz type) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware UTC time is required")
        value = value.astimezone(UTC)
        # SQLite stores text; dropping tzinfo keeps one canonical form there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(kind: type[StrEnum], length: int = 24) -> Enum:
    """A StrEnum column stored as its values in VARCHAR (no native type: migrations stay simple)."""
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


# How long a request waits for a connection before it is refused (503, never a hang).
POOL_TIMEOUT_S = 10.0
# Connection options for serving: a transaction left idle is ended and a row lock is not
# waited for without end, so no request can hold up others indefinitely.
_SERVING_OPTIONS = "-c idle_in_transaction_session_timeout=60000 -c lock_timeout=10000"


def make_engine(url: str, *, connections: int = 5, serving: bool = False,
                **kwargs: Any) -> Engine:
    """An engine with a fixed-size pool. `serving` adds PostgreSQL's safety timeouts."""
    # Statement parameters are patient data: keep them out of exception messages and logs.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10}, pool_size=connections,
                               max_overflow=0, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Serving skips the ping before each checkout (a round trip on every request): a
    # connection that died is found by its first statement, which fails with a disconnect;
    # SQLAlchemy then replaces the whole pool and the request is answered 503, retry.
    connect_args = {"options": _SERVING_OPTIONS} if serving else {}
    return create_engine(url, pool_pre_ping=not serving, pool_size=connections, max_overflow=0,
                         connect_args=connect_args, **kwargs)


# Execution option for transactions that only read: on SQLite they begin DEFERRED, so they
# neither take nor wait for the write lock (WAL readers see the last commit).
READ_ONLY = {"ketaflow_read_only": True}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A transaction that may write takes the write lock up front (IMMEDIATE), so it waits
        # for it once, at the start, instead of failing late with SQLITE_BUSY_SNAPSHOT.
        read_only = connection.get_execution_options().get("ketaflow_read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def database_busy(error: BaseException) -> bool:
    """Whether an error means "the database is saturated or unreachable, try again" (no
    connection free in time, SQLite's busy timeout, PostgreSQL's lock timeout, a lost
    connection) rather than something wrong with the request."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig if error.orig is not None else error).lower()
    return any(word in text for word in ("locked", "lock timeout", "busy", "connection",
                                         "server closed", "terminating"))


_Id = TypeVar("_Id")


def first_unlocked(db: Session, candidate: Select[tuple[_Id]]) -> _Id | None:
    """The first id `candidate` selects, locked for this transaction without waiting for rows
    other workers hold (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the transaction already
    holds the write lock, BEGIN IMMEDIATE). Claims then UPDATE that row repeating their guard."""
    if db.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    return db.scalar(candidate)


def make_session_factory(engine: Engine, *, info: dict[str, Any] | None = None,
                         read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on `engine`; `info` travels with each (the audit key, the audit buffer)."""
    bind = engine.execution_options(**READ_ONLY) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True, info=info or {})


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. Services never commit."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
