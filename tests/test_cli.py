"""The foundation CLI as an operator uses it: real processes, real databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ketaflow.db import make_engine
from tests.support.live import free_port

Run = subprocess.CompletedProcess[str]


def _runner(db_url: str, var_dir: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "KETAFLOW_DATABASE_URL": db_url,
        "KETAFLOW_VAR_DIR": str(var_dir),
        "KETAFLOW_MODE": "demo",
    }

    def _run(*args: str, stdin: str | None = None) -> Run:
        return subprocess.run(
            [sys.executable, "-m", "ketaflow", *args],
            env=env,
            text=True,
            capture_output=True,
            input=stdin,
            timeout=120,
            check=False,
        )

    return _run


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return _runner(db_url, tmp_path)


def _one_line_error(result: Run) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), result
    return lines[0]


def test_accounts_tokens_and_audit_round_trip(run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert "up to date" in run("db", "current").stdout
    created = run(
        "user",
        "create",
        "nina",
        "--role",
        "nurse",
        "--full-name",
        "Nina N",
        "--password",
        "a-long-password-1",
    )
    assert created.returncode == 0 and "created nina (nurse)" in created.stdout
    # User errors: one line and exit status 2, like a usage error.
    duplicate = run("user", "create", "nina", "--role", "nurse", "--password", "a-long-password-1")
    assert "already taken" in _one_line_error(duplicate) and duplicate.returncode == 2
    short = run("user", "create", "bob", "--role", "nurse", "--password", "short")
    assert "at least 12" in _one_line_error(short) and short.returncode == 2
    assert (
        "invalid value"
        in _one_line_error(
            run("user", "create", "bob", "--role", "chef", "--password", "a-long-password-1")
        ).lower()
    )

    token = run("token", "create", "nina", "--name", "monitor", "--days", "5")
    raw = token.stdout.strip()
    assert token.returncode == 0 and raw.startswith("kft_")
    assert run("token", "revoke", raw).returncode == 0
    assert "already revoked" in _one_line_error(run("token", "revoke", raw))

    assert run("user", "reset-mfa", "nina").returncode == 0
    assert run("user", "deactivate", "nina").returncode == 0
    unknown = run("user", "deactivate", "ghost")
    assert "no user named" in _one_line_error(unknown) and unknown.returncode == 2
    unknown_token_user = run("token", "create", "ghost")
    assert "no user named" in _one_line_error(unknown_token_user)
    assert unknown_token_user.returncode == 2

    pending = run("audit", "verify")
    assert pending.returncode == 0 and "5 committed events are not sealed yet" in pending.stdout
    assert run("audit", "seal").stdout.strip() == "sealed 5 events"
    verified = run("audit", "verify")
    assert verified.returncode == 0 and "5 sealed events verified" in verified.stdout
    assert "1 checkpoints matched" in verified.stdout
    exported = run(
        "audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "csv"
    )
    rows = exported.stdout.strip().splitlines()
    assert rows[0].startswith("id,occurred_at") and len(rows) == 6
    assert [r.split(",")[5] for r in rows[1:]] == [
        "user.create",
        "api_token.create",
        "api_token.revoke",
        "user.reset_mfa",
        "user.deactivate",
    ]
    assert "YYYY-MM-DD" in _one_line_error(
        run("audit", "export", "--from", "soon", "--to", "2100-01-01")
    )


def _tamper(db_url: str, sql: str) -> None:
    """Edit the database as its superuser could, around the app and PostgreSQL's trigger."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "not-yet-sealed"])
def test_hand_edited_audit_row_is_caught(run, db_url: str, sealed: bool) -> None:  # type: ignore[no-untyped-def]
    for name in ("ann", "ben", "cat"):
        run("user", "create", name, "--role", "nurse", "--password", "a-long-password-1")
    if sealed:
        assert run("audit", "seal").returncode == 0
    _tamper(db_url, 'UPDATE audit_events SET detail = \'{"role":"admin"}\' WHERE id = 2')
    result = run("audit", "verify")
    assert result.returncode == 1
    assert "broken (event 2)" in _one_line_error(result)


def test_demo_seed_generates_passwords_and_prints_them_again(run) -> None:  # type: ignore[no-untyped-def]
    first = run("demo", "seed")
    assert first.returncode == 0
    for role in ("admin", "prescriber", "nurse", "front_desk", "researcher"):
        assert role in first.stdout
    passwords = re.findall(r"(demo-\w+-\S{12})", first.stdout)
    assert len(passwords) == 5 and len(set(passwords)) == 5
    again = run("demo", "seed")
    assert "already present" in again.stdout
    assert re.findall(r"(demo-\w+-\S{12})", again.stdout) == passwords
    assert re.findall(r"(demo-\w+-\S{12})", run("demo", "accounts").stdout) == passwords


def test_usage_errors_are_one_line(run) -> None:  # type: ignore[no-untyped-def]
    result = run("user", "create", "x")
    assert result.returncode == 2 and result.stdout == ""
    _one_line_error(result)


@pytest.mark.parametrize("command", [
    ("audit", "verify"),
    ("audit", "export", "--from", "2026-01-01", "--to", "2026-02-01"),
    ("user", "list"),
    ("demo", "accounts"),
])
def test_an_unmigrated_database_gets_one_line_naming_the_fix(
        empty_url: str, tmp_path: Path, command: tuple[str, ...]) -> None:
    result = _runner(empty_url, tmp_path)(*command)
    assert "Traceback" not in result.stderr
    assert "run `ketaflow db upgrade`" in _one_line_error(result)


def test_an_unreachable_database_gets_one_line_naming_the_masked_url(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://kf:s3cret-pw@127.0.0.1:{port}/kf"
    result = _runner(url, tmp_path)("user", "list")
    line = _one_line_error(result)
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr
    assert f"postgresql+psycopg://kf:***@127.0.0.1:{port}/kf" in line and "unreachable" in line


def test_a_missing_sqlite_folder_gets_one_line_naming_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no-such-folder/ketaflow.db"
    result = _runner(url, tmp_path)("user", "list")
    line = _one_line_error(result)
    assert "Traceback" not in result.stderr
    assert f"{tmp_path}/no-such-folder/ketaflow.db" in line and "folder" in line


def test_an_unusable_database_url_gets_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = _runner("nonsense://", tmp_path)("user", "list")
    assert "KETAFLOW_DATABASE_URL" in _one_line_error(result)
    assert "Traceback" not in result.stderr


def test_the_portal_base_url_follows_the_served_address(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "KETAFLOW_DATABASE_URL": db_url, "KETAFLOW_VAR_DIR": str(tmp_path),
           "KETAFLOW_MODE": "demo", "PYTHONUNBUFFERED": "1"}
    env.pop("KETAFLOW_PUBLIC_BASE_URL", None)
    with subprocess.Popen([sys.executable, "-m", "ketaflow", "serve", "--port", str(port)],
                          env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert f"patient links use http://127.0.0.1:{port}" in first, first


def test_served_base_url_names_the_machine_when_listening_everywhere() -> None:
    from ketaflow.cli import served_base_url

    assert served_base_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert served_base_url("::1", 8123) == "http://[::1]:8123"
    everywhere = served_base_url("0.0.0.0", 8123)
    assert "0.0.0.0" not in everywhere and everywhere.endswith(":8123")
