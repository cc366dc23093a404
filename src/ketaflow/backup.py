"""`ketaflow backup` and `ketaflow restore`: a consistent copy of the database, and its way back.

SQLite is copied with SQLite's online backup API, PostgreSQL with `pg_dump -Fc`; both read one
snapshot, so the copy is consistent while the server keeps writing. A restore goes only into an
empty database, and ends with the audit verification, so a clinic knows the trail came back whole.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from psycopg.conninfo import make_conninfo
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from ketaflow import migrate
from ketaflow.clictx import fail
from ketaflow.db import make_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
BAD_INPUT = 2  # the CLI contract: 2 for bad input, 1 for everything else
# Files next to a SQLite database while a connection has it open (or after a crash).
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


# --- backup ------------------------------------------------------------------------------------


def backup_database(url: str, out: Path, *, force: bool = False) -> str:
    """Write a backup of the database at `url` to `out`; return the line to print."""
    out = out.expanduser().absolute()
    if out.is_dir():
        fail(f"{out} is a folder; give a file name for the backup", BAD_INPUT)
    if not out.parent.is_dir():
        fail(f"folder {out.parent} does not exist", BAD_INPUT)
    if out.exists() and not force:
        fail(f"{out} already exists; use --force to replace it", BAD_INPUT)
    kind = _backend(url)
    if kind == "sqlite" and out.resolve() == _sqlite_path(url).resolve():
        fail("--out must not be the database itself", BAD_INPUT)
    try:
        with _temporary_next_to(out) as tmp:
            if kind == "sqlite":
                revision = _sqlite_backup(_sqlite_path(url), tmp)
            else:
                revision = _pg_backup(url, tmp)
            _fsync(tmp)
            os.replace(tmp, out)  # atomic: `out` is either the old file or the complete backup
    except OSError as exc:  # disk full, no permission: one line, and the partial file is gone
        fail(f"cannot write {out}: {exc.strerror or exc}")
    _fsync_folder(out.parent)
    label = "SQLite" if kind == "sqlite" else "PostgreSQL custom format"
    where = f"Alembic revision {revision}" if revision else "no Alembic revision"
    return f"wrote {out} ({_size(out.stat().st_size)}, {label}, {where})"


def _sqlite_backup(source: Path, tmp: Path) -> str | None:
    if not source.is_file() or source.stat().st_size == 0:
        fail(f"no database at {source}")
    # mode=rw: never create a database by backing up a path that holds none.
    src = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=10)
    try:
        with closing(sqlite3.connect(tmp)) as dest:
            # pages=-1 copies every page in one step under one read transaction: one snapshot.
            # In WAL mode that reader does not block the server's writers.
            src.backup(dest, pages=-1)
            # The copied header says WAL; switch the copy to a rollback journal so it is one
            # self-contained file (the app turns WAL back on when it opens a restored database).
            dest.execute("PRAGMA journal_mode=DELETE")
            return _sqlite_revision(dest)
    except sqlite3.Error as exc:
        fail(f"cannot back up {source}: {exc}")
    finally:
        src.close()


def _pg_backup(url: str, tmp: Path) -> str | None:
    conninfo, env = _libpq_connection(url)
    # pg_dump reads one snapshot (repeatable read), so concurrent writes do not tear the dump.
    _run_pg_tool(
        "pg_dump",
        ["--format=custom", f"--file={tmp}", "--no-password", f"--dbname={conninfo}"],
        env,
        failure="pg_dump failed",
    )
    return _pgdump_revision(tmp)


# --- restore -----------------------------------------------------------------------------------


def restore_database(url: str, source: Path) -> str:
    """Restore the backup `source` into the EMPTY database at `url`; return the line to print.
    The caller then verifies the audit trail against the last checkpoint (`ketaflow restore`)."""
    source = source.expanduser().absolute()
    if not source.is_file():
        fail(f"no backup file at {source}", BAD_INPUT)
    kind, fmt = _backend(url), _backup_format(source)
    if fmt is None:
        fail(f"{source} is not a ketaflow backup (neither SQLite nor pg_dump custom format)",
             BAD_INPUT)
    if fmt != kind:
        fail(f"{source} is a {_NAMES[fmt]} backup; it cannot be restored into {_NAMES[kind]}",
             BAD_INPUT)
    try:
        if kind == "sqlite":
            _sqlite_restore(url, source)
        else:
            _pg_restore(url, source)
    except OSError as exc:  # unreadable backup, target folder not writable, disk full
        fail(f"restore failed, nothing was restored: {exc.strerror or exc} ({exc.filename})")
    revision = migrate.current_revision(url)
    return f"restored {source} into {_describe(url)} ({_revision_note(url, revision)})"


def _sqlite_restore(url: str, source: Path) -> None:
    target = _sqlite_path(url)
    _refuse_nonempty_sqlite(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_next_to(target) as tmp:
        # Work on a copy in the target's folder: the backup file is never opened for writing,
        # and the final rename cannot cross file systems.
        shutil.copyfile(source, tmp)
        try:
            with closing(sqlite3.connect(f"{tmp.as_uri()}?mode=rw", uri=True)) as conn:
                problems = conn.execute("PRAGMA integrity_check").fetchall()
                if problems != [("ok",)]:
                    fail(f"{source} is damaged (integrity check: {problems[0][0]}); "
                         "nothing was restored")
                revision = _sqlite_revision(conn)
        except sqlite3.DatabaseError as exc:  # e.g. "database disk image is malformed"
            fail(f"{source} is damaged ({exc}); nothing was restored")
        _refuse_unknown_revision(url, revision, source)
        _fsync(tmp)
        os.replace(tmp, target)
    _fsync_folder(target.parent)


def _refuse_nonempty_sqlite(target: Path) -> None:
    if target.is_dir():
        fail(f"{target} is a folder, not a database file")
    if target.exists() and target.stat().st_size > 0:
        try:
            with closing(sqlite3.connect(f"{target.as_uri()}?mode=rw", uri=True)) as conn:
                objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError:
            fail(f"{target} exists and is not an empty database; restore only into an empty one")
        if objects:
            fail(f"{target} already holds a database; restore only into an empty database")
    # A journal left beside the file means someone has it open (or crashed mid-write); a file
    # renamed under it would be mixed with that journal's pages.
    for suffix in _SQLITE_COMPANIONS:
        companion = Path(f"{target}{suffix}")
        if companion.exists():
            fail(f"{target} is in use ({companion.name} exists); stop the server first")


def _pg_restore(url: str, source: Path) -> None:
    _refuse_nonempty_pg(url)
    # Read the revision from the archive first: a damaged or too-new backup is refused before
    # anything touches the target.
    _refuse_unknown_revision(url, _pgdump_revision(source), source)
    conninfo, env = _libpq_connection(url)
    # One transaction, stopping at the first error: a failed restore leaves the target empty.
    # No owners or grants: the target's roles need not match the source clinic's.
    _run_pg_tool(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         "--no-password", f"--dbname={conninfo}", str(source)],
        env,
        failure="pg_restore failed, nothing was restored",
    )


def _refuse_nonempty_pg(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            relations = conn.scalar(text(
                "SELECT count(*) FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r','p','v','m','S','f')"
            ))
    except SQLAlchemyError as exc:
        fail(f"cannot connect to {_describe(url)}: {_first_line(str(getattr(exc, 'orig', exc)))}")
    finally:
        engine.dispose()
    if relations:
        fail(f"{_describe(url)} is not empty ({relations} tables, views or sequences); "
             "restore only into an empty database (createdb a new one)")


# --- revisions ---------------------------------------------------------------------------------


def _refuse_unknown_revision(url: str, revision: str | None, source: Path) -> None:
    if revision is None:
        fail(f"{source} holds no Alembic revision: not a ketaflow database backup")
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    try:
        script.get_revision(revision)
    except (CommandError, RevisionError):
        fail(
            f"{source} is at revision {revision}, newer than this ketaflow "
            f"(latest {script.get_current_head()}); restore it with the version that wrote it"
        )


def _revision_note(url: str, revision: str | None) -> str:
    head = migrate.head_revision(url)
    if revision == head:
        return f"Alembic revision {revision}, up to date"
    return (
        f"Alembic revision {revision}, older than this ketaflow ({head}): "
        "run ketaflow db upgrade"
    )


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: not a migrated ketaflow database
        return None
    return str(row[0]) if row else None


def _pgdump_revision(dump: Path) -> str | None:
    """The Alembic revision stored in a pg_dump archive (also proves the archive is readable)."""
    listing = _run_pg_tool(
        "pg_restore",
        ["--data-only", "--table=alembic_version", "--file=-", str(dump)],
        dict(os.environ),
        failure=f"{dump} is damaged or unreadable",
    )
    lines = iter(listing.splitlines())
    for line in lines:  # COPY public.alembic_version (version_num) FROM stdin; <rows> \.
        if line.startswith("COPY ") and "alembic_version" in line:
            value = next(lines, "\\.")
            return None if value == "\\." else value.strip()
    return None


# --- PostgreSQL client tools -------------------------------------------------------------------


def _libpq_connection(url: str) -> tuple[str, dict[str, str]]:
    """A libpq conninfo without the password, and the child's environment carrying it.

    The password goes through PGPASSWORD, never argv, which other users can read in `ps`.
    """
    parsed = make_url(url)
    params: dict[str, object] = {
        "host": parsed.host, "port": parsed.port, "user": parsed.username,
        "dbname": parsed.database, **parsed.query,
    }
    password = params.pop("password", None) or parsed.password
    conninfo = make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return conninfo, env


def _pg_tool(name: str) -> str:
    """Debian installs each major version under /usr/lib/postgresql/N/bin; the newest client
    reads every older server and archive, so it is tried first, then PATH."""
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for directory in dirs:
        if os.access(directory / name, os.X_OK):
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        fail(f"{name} not found: install PostgreSQL's client tools of the server's major "
             "version (Debian: postgresql-client-NN)")
    return found


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in bin_dir.parent.name.split("."))
    except ValueError:
        return (-1,)


def _run_pg_tool(name: str, args: list[str], env: dict[str, str], *, failure: str) -> str:
    result = subprocess.run(  # noqa: S603 - a fixed tool with arguments built here, no shell
        [_pg_tool(name), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        message = _first_line(result.stderr, name) or f"{name} exited with {result.returncode}"
        password = env.get("PGPASSWORD")
        if password:  # libpq does not print it, but a message must never carry it
            message = message.replace(password, "***")
        fail(f"{failure}: {message}")
    return result.stdout


def _first_line(message: str, tool: str = "") -> str:
    """The line that names the problem (tools print context lines around it), on one line and
    without the tool's own "pg_dump: error:" prefix."""
    lines = [" ".join(line.split()) for line in message.splitlines() if line.strip()]
    line = next((li for li in lines if "error" in li.lower()), lines[0] if lines else "")
    return line.removeprefix(f"{tool}: ").removeprefix("error: ") if tool else line


# --- files -------------------------------------------------------------------------------------


@contextmanager
def _temporary_next_to(path: Path) -> Iterator[Path]:
    """A private (0600: backups hold patient data) file in `path`'s folder, removed unless the
    caller renamed it into place."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in _SQLITE_COMPANIONS)):
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable. Some file systems (network shares, exFAT sticks) cannot sync a
    folder; the file itself is synced already, so that is not worth failing over."""
    with suppress(OSError):
        _fsync(folder)


def _backup_format(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    if head == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _backend(url: str) -> str:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        fail("the SQLite database must be a file (sqlite:///path/to/ketaflow.db)", BAD_INPUT)
    return Path(database).expanduser().absolute()


def _describe(url: str) -> str:
    """Where the database is, without credentials."""
    if _backend(url) == "sqlite":
        return str(_sqlite_path(url))
    parsed: URL = make_url(url)
    return f"PostgreSQL database {parsed.database} on {parsed.host or 'local socket'}" + (
        f":{parsed.port}" if parsed.port else ""
    )


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
