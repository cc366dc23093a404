"""`ketaflow backup` and `ketaflow restore` on both databases, through the CLI entry point."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from ketaflow import backup as backup_module
from ketaflow import migrate
from ketaflow.audit.models import AuditEvent
from ketaflow.cli import main
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.patients.models import Patient, PatientDemographics
from tests.conftest import TEST_AUDIT_KEY
from tests.patients.factories import make_patient
from tests.support.databases import TEMPLATE_DB, PostgresDatabases, SqliteDatabases
from tests.support.factories import make_user
from tests.support.postgres import PostgresServer

_empty_names = itertools.count(1)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one-line error the CLI contract promises."""
        lines = self.err.strip().splitlines()
        assert self.code != 0 and len(lines) == 1 and lines[0].startswith("error: "), self
        return lines[0]


Cli = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    """Run `ketaflow ARGS` against the database at `url`, as an operator would."""
    monkeypatch.setenv("KETAFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KETAFLOW_MODE", "demo")
    # The key the suite's own sessions MAC events with (tests/conftest.py).
    monkeypatch.setenv("KETAFLOW_AUDIT_KEY", TEST_AUDIT_KEY)

    def _run(url: str, *args: str) -> Result:
        monkeypatch.setenv("KETAFLOW_DATABASE_URL", url)
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Callable[[], str]:
    """Make an empty database on the same backend as `db_url` (SQLite: a file not yet there)."""

    def _make() -> str:
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'restored{next(_empty_names)}' / 'ketaflow.db'}"
        return _empty_pg(request.getfixturevalue("pg_server"))

    return _make


@pytest.fixture(autouse=True)
def _drop_made_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """These tests make extra PostgreSQL databases (restore targets, second sources): drop
    whatever a test left that was not there before it."""
    uses_postgres = {"pg_server", "db_url", "postgres_databases"} & set(request.fixturenames)
    if not uses_postgres:
        yield
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    before = server.database_names()
    yield
    for name in server.database_names() - before - {TEMPLATE_DB}:
        server.drop_database(name)


def _empty_pg(server: PostgresServer) -> str:
    name = f"restore_target_{next(_empty_names)}"
    with server.admin_conn() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url(name)


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {n: conn.scalar(text(f'SELECT count(*) FROM "{n}"')) or 0 for n in names}
    finally:
        engine.dispose()


def is_empty(url: str) -> bool:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return not path.exists() and not (path.parent.exists() and any(path.parent.iterdir()))
    return row_counts(url) == {}


def seed_patients(url: str, count: int = 3) -> None:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            make_user(session)
            for _ in range(count):
                make_patient(session)
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # let the test tamper past the audit trigger
                conn.execute(text("SET session_replication_role = replica"))
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def head() -> str:
    revision = migrate.head_revision("sqlite://")
    assert revision
    return revision


# --- round trips -------------------------------------------------------------------------------


def test_round_trip_restores_every_table(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    assert cli(db_url, "demo", "seed").code == 0
    out = tmp_path / "clinic.backup"

    written = cli(db_url, "backup", "--out", str(out))

    assert written.code == 0, written
    assert written.out.startswith(f"wrote {out} (") and f"Alembic revision {head()})" in written.out
    assert len(written.out.splitlines()) == 1 and ("KiB" in written.out or "MiB" in written.out)
    assert out.stat().st_mode & 0o077 == 0  # patient data: readable by the owner only
    assert [p.name for p in tmp_path.iterdir() if p.name != "var"] == ["clinic.backup"]

    target = empty_url()
    restored = cli(target, "restore", str(out))

    assert restored.code == 0, restored
    first, second = restored.out.splitlines()
    assert first.startswith(f"restored {out} into ") and "up to date" in first
    source_counts = row_counts(db_url)
    assert source_counts["patients"] and source_counts["audit_events"]
    assert row_counts(target) == source_counts
    assert migrate.current_revision(target) == migrate.current_revision(db_url) == head()
    events = source_counts["audit_events"]
    assert second.startswith("audit trail intact")
    assert cli(target, "audit", "seal").out.strip() == f"sealed {events} events"
    verified = cli(target, "audit", "verify")
    assert verified.code == 0 and f"{events} sealed events verified" in verified.out


def test_backup_while_another_thread_writes_is_consistent(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    assert cli(db_url, "demo", "seed").code == 0
    writer = _Writer(db_url)
    with writer.running():
        writer.wait_for(5)
        before = writer.written
        written = cli(db_url, "backup", "--out", str(tmp_path / "live.backup"))
        during = writer.written
        writer.wait_for(during + 5)
    assert written.code == 0, written
    assert during > before  # the writer kept writing while the backup ran

    target = empty_url()
    restored = cli(target, "restore", str(tmp_path / "live.backup"))

    assert restored.code == 0, restored
    assert "audit trail intact" in restored.out
    registered = _patients_and_events(target)
    # One snapshot: each patient's rows and its audit event were copied together or not at all,
    # and the snapshot falls between the writes counted before and after the backup (+1: a
    # commit may land just before the writer counts it).
    assert registered["patients"] == registered["demographics"] == registered["events"]
    seeded = _patients_and_events(db_url)["patients"] - writer.written
    assert seeded + before <= registered["patients"] <= seeded + during + 1
    # The restored audit trail is exactly the source's first events, MAC for MAC.
    restored_hashes = _audit_hashes(target)
    assert restored_hashes == _audit_hashes(db_url)[: len(restored_hashes)]


class _Writer:
    """Registers patients (patient, demographics and audit event per transaction) in a loop."""

    def __init__(self, url: str) -> None:
        self.url, self.written = url, 0
        self._stop = threading.Event()
        self._error: BaseException | None = None

    def _loop(self) -> None:
        engine = make_engine(self.url)
        factory = make_session_factory(engine)
        try:
            while not self._stop.is_set():
                with transaction(factory) as session:
                    make_patient(session)
                self.written += 1
        except BaseException as exc:  # surfaced in the test's thread
            self._error = exc
        finally:
            engine.dispose()

    @contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(timeout=60)
        if self._error is not None:
            raise self._error

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while self.written < count and self._error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.written >= count or self._error is not None, "the writer stalled"


def _patients_and_events(url: str) -> dict[str, int]:
    counts = row_counts(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            events = conn.scalar(
                select(func.count()).where(AuditEvent.action == "patient.register")
            )
    finally:
        engine.dispose()
    return {
        "patients": counts[Patient.__tablename__],
        "demographics": counts[PatientDemographics.__tablename__],
        "events": events or 0,
    }


def _audit_hashes(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(AuditEvent.mac).order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def test_older_backup_restores_and_asks_for_an_upgrade(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(db_url))
    previous = script.get_revision(head()).down_revision
    assert isinstance(previous, str)
    source = empty_url()
    migrate.upgrade(source, previous)
    assert cli(source, "backup", "--out", str(tmp_path / "old.backup")).code == 0

    target = empty_url()
    restored = cli(target, "restore", str(tmp_path / "old.backup"))

    assert restored.code == 0, restored
    assert f"revision {previous}, older than this ketaflow ({head()}): run ketaflow db upgrade" in (
        restored.out
    )
    assert migrate.current_revision(target) == previous
    assert cli(target, "db", "upgrade").code == 0


# --- refusals ----------------------------------------------------------------------------------


def test_restore_refuses_a_database_that_is_not_empty(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    seed_patients(db_url)
    backup_file = tmp_path / "clinic.backup"
    assert cli(db_url, "backup", "--out", str(backup_file)).code == 0
    before = row_counts(db_url)

    refused = cli(db_url, "restore", str(backup_file))

    assert refused.code == 1
    assert "restore only into an empty database" in refused.error
    assert row_counts(db_url) == before


def test_restore_refuses_missing_and_foreign_files(
    cli: Cli, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    target = empty_url()
    missing = cli(target, "restore", str(tmp_path / "nowhere.backup"))
    assert missing.code == 2 and "no backup file at" in missing.error

    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    foreign = cli(target, "restore", str(notes))
    assert foreign.code == 2 and "not a ketaflow backup" in foreign.error
    assert is_empty(target)


def test_backup_of_one_database_is_refused_by_the_other(
    cli: Cli,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
    pg_server: PostgresServer,
    tmp_path: Path,
) -> None:
    sqlite_url, pg_url = sqlite_databases.fresh(), postgres_databases.fresh()
    assert cli(sqlite_url, "backup", "--out", str(tmp_path / "a.sqlite")).code == 0
    assert cli(pg_url, "backup", "--out", str(tmp_path / "b.dump")).code == 0
    empty_sqlite, empty_pg = f"sqlite:///{tmp_path / 'new' / 'k.db'}", _empty_pg(pg_server)

    into_pg = cli(empty_pg, "restore", str(tmp_path / "a.sqlite"))
    into_sqlite = cli(empty_sqlite, "restore", str(tmp_path / "b.dump"))

    assert into_pg.code == 2
    assert "is a SQLite backup; it cannot be restored into PostgreSQL" in into_pg.error
    assert into_sqlite.code == 2
    assert "is a PostgreSQL backup; it cannot be restored into SQLite" in into_sqlite.error
    assert is_empty(empty_pg) and is_empty(empty_sqlite)


def test_sqlite_restore_takes_an_empty_file_but_not_one_in_use(
    cli: Cli, sqlite_databases: SqliteDatabases, tmp_path: Path
) -> None:
    source = sqlite_databases.fresh()
    seed_patients(source)
    assert cli(source, "backup", "--out", str(tmp_path / "b.sqlite")).code == 0
    target = tmp_path / "clinic" / "ketaflow.db"
    target.parent.mkdir()
    target.touch()  # zero-length: nothing in it yet
    wal = Path(f"{target}-wal")
    wal.write_bytes(b"pages someone is still writing")

    in_use = cli(f"sqlite:///{target}", "restore", str(tmp_path / "b.sqlite"))

    assert in_use.code == 1 and "is in use (ketaflow.db-wal exists)" in in_use.error
    assert target.stat().st_size == 0
    wal.unlink()
    restored = cli(f"sqlite:///{target}", "restore", str(tmp_path / "b.sqlite"))
    assert restored.code == 0, restored
    assert row_counts(f"sqlite:///{target}") == row_counts(source)


def test_backup_refuses_to_overwrite_without_force(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.backup"
    precious.write_bytes(b"yesterday's backup")

    refused = cli(db_url, "backup", "--out", str(precious))

    assert refused.code == 2 and "already exists; use --force" in refused.error
    assert precious.read_bytes() == b"yesterday's backup"
    assert cli(db_url, "backup").code == 2  # --out is required
    forced = cli(db_url, "backup", "--out", str(precious), "--force")
    assert forced.code == 0, forced
    assert precious.read_bytes()[:5] in (b"SQLit", b"PGDMP")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "var") == ["precious.backup"]


def test_truncated_backup_is_refused_and_leaves_the_target_empty(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    seed_patients(db_url, count=20)
    whole = tmp_path / "whole.backup"
    assert cli(db_url, "backup", "--out", str(whole)).code == 0
    for fraction in (0.3, 0.9):
        cut = tmp_path / f"cut{fraction}.backup"
        cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * fraction)])
        target = empty_url()

        refused = cli(target, "restore", str(cut))

        assert refused.code == 1, refused
        assert "damaged" in refused.error or "nothing was restored" in refused.error
        assert is_empty(target)


def test_backup_from_newer_ketaflow_is_refused(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    execute(db_url, "UPDATE alembic_version SET version_num = 'ffffffffffff'")
    assert cli(db_url, "backup", "--out", str(tmp_path / "future.backup")).code == 0
    target = empty_url()

    refused = cli(target, "restore", str(tmp_path / "future.backup"))

    assert refused.code == 1
    assert f"revision ffffffffffff, newer than this ketaflow (latest {head()})" in refused.error
    assert is_empty(target)


def test_restore_fails_when_the_audit_chain_does_not_verify(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    seed_patients(db_url)
    execute(db_url, "UPDATE audit_events SET detail = '{\"role\":\"admin\"}' WHERE id = 2")
    assert cli(db_url, "backup", "--out", str(tmp_path / "tampered.backup")).code == 0

    failed = cli(empty_url(), "restore", str(tmp_path / "tampered.backup"))

    assert failed.code == 1
    assert "restored, but the audit trail does not verify: event 2" in failed.error


def test_restoring_a_backup_older_than_the_last_checkpoint_is_reported(
    cli: Cli, db_url: str, empty_url: Callable[[], str], tmp_path: Path
) -> None:
    """The chain of an older backup is intact in itself; only the checkpoint kept outside the
    database (the var folder's file) shows that newer events are missing."""
    seed_patients(db_url)
    assert cli(db_url, "audit", "seal").code == 0
    assert cli(db_url, "backup", "--out", str(tmp_path / "monday.backup")).code == 0
    seed_patients(db_url, count=2)
    assert cli(db_url, "audit", "seal").code == 0  # a later checkpoint, in the same var folder

    target = empty_url()
    failed = cli(target, "restore", str(tmp_path / "monday.backup"))

    assert failed.code == 1
    assert "the newest events were deleted or an older backup was restored" in failed.error
    assert row_counts(target)["patients"] == 3  # restored all the same, for the operator


def test_postgres_password_goes_through_the_environment(
    cli: Cli,
    postgres_databases: PostgresDatabases,
    pg_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    password = "s3cret-Pa55"
    with_password = postgres_databases.fresh().replace("postgres@", f"postgres:{password}@")
    seed_patients(with_password)
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((args, kwargs["env"]))
        return real_run(args, **kwargs)

    monkeypatch.setattr(backup_module.subprocess, "run", spy)
    target = _empty_pg(pg_server).replace("postgres@", f"postgres:{password}@")

    written = cli(with_password, "backup", "--out", str(tmp_path / "pw.dump"))
    restored = cli(target, "restore", str(tmp_path / "pw.dump"))

    assert written.code == 0 and restored.code == 0, (written, restored)
    connecting = [(args, env) for args, env in calls if any("--dbname" in a for a in args)]
    assert [Path(args[0]).name for args, _ in connecting] == ["pg_dump", "pg_restore"]
    for args, env in connecting:
        assert password not in " ".join(args) and env["PGPASSWORD"] == password
    assert password not in written.out + written.err + restored.out + restored.err


def test_restore_into_a_missing_postgres_database_names_the_problem(
    cli: Cli, postgres_databases: PostgresDatabases, pg_server: PostgresServer, tmp_path: Path
) -> None:
    assert cli(postgres_databases.fresh(), "backup", "--out", str(tmp_path / "b.dump")).code == 0

    refused = cli(pg_server.url("no_such_db"), "restore", str(tmp_path / "b.dump"))

    assert refused.code == 1 and "cannot connect to PostgreSQL database no_such_db" in refused.error


def test_newest_postgres_client_is_preferred() -> None:
    dirs = [Path(f"/usr/lib/postgresql/{v}/bin") for v in ("9.6", "16", "15", "odd")]
    ordered = sorted(dirs, key=backup_module._version_key, reverse=True)
    assert [d.parent.name for d in ordered] == ["16", "15", "9.6", "odd"]
