"""Shared fixtures: both database backends, fresh migrated databases, app clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.orm import Session

from ketaflow.audit import keys
from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory
from ketaflow.outcomes import freshness
from ketaflow.web.app import create_app, dispose_engines
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from tests.support.smtp import smtp_server  # noqa: F401 - a fixture for every test folder
from tests.support.web import browser_client

# Properties are about results, not speed (speed is measured in benchmarks/): no per-example
# deadline and no "too slow" health check, which a loaded CI machine trips at random.
hypothesis_settings.register_profile("ketaflow", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("ketaflow")

BACKENDS = ["sqlite", "postgresql"]
# One audit key for the whole suite, so sessions built by tests and by apps MAC alike.
TEST_AUDIT_KEY = "test-audit-key-" + "a" * 40
keys.set_default_key(TEST_AUDIT_KEY.encode())
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# As the app and the CLI do: flushes mark the patients whose outcome summaries go stale.
freshness.register()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    # Every test drops the databases it made, and the session its template (which is torn
    # down first: it depends on this server). Anything left is a leak, on a clinic's server too.
    leftover = server.database_names() - {"postgres"}
    server.stop()
    assert not leftover, f"test databases left behind: {sorted(leftover)}"


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases(pg_server: PostgresServer) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(pg_server)
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, fully migrated database on each backend, dropped when the test ends."""
    fixture = "sqlite_databases" if request.param == "sqlite" else "postgres_databases"
    databases: SqliteDatabases | PostgresDatabases = request.getfixturevalue(fixture)
    url = databases.fresh()
    yield url
    databases.drop(url)


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    """A session on a fresh database; the test's transaction is rolled back afterwards."""
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    yield session
    session.rollback()
    session.close()
    engine.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=db_url, var_dir=tmp_path / "var", mode="demo", secret_key="t" * 48,
        audit_key=TEST_AUDIT_KEY,
    )


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    # https so the Secure cookies are sent back, as a browser would over TLS.
    with browser_client(app) as client:
        yield client
    dispose_engines(app)


@pytest.fixture
def app_db(app_client: TestClient, settings: Settings) -> Iterator[Session]:
    """A session on the app's database, for arranging data and checking results. Its own
    engine: on SQLite the app keeps one connection, which the test must not take. Commit
    (or roll back) before the next request, as another client of the database would."""
    engine = make_engine(settings.effective_database_url)
    session = make_session_factory(engine)()
    yield session
    session.rollback()
    session.close()
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, dropped when the test ends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"empty_{tmp_path.name[-12:].replace('-', '_').lower()}"
    yield server.create_database(name)
    server.drop_database(name)
