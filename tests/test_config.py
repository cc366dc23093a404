"""Settings: generated secret key, validation with messages that name the setting."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ketaflow.config import Mode, SettingsError, load_settings


def test_secret_key_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_settings(var_dir=tmp_path / "var").effective_secret_key
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_settings(var_dir=tmp_path / "var").effective_secret_key == first


def test_given_secret_key_is_used_and_not_written(tmp_path: Path) -> None:
    cfg = load_settings(var_dir=tmp_path, secret_key="s" * 40)
    assert cfg.effective_secret_key == "s" * 40
    assert not (tmp_path / "secret_key").exists()


def test_defaults(tmp_path: Path) -> None:
    cfg = load_settings(var_dir=tmp_path)
    assert cfg.mode is Mode.DEMO
    assert cfg.session_idle_minutes == 15 and cfg.session_absolute_hours == 12
    assert cfg.effective_database_url == f"sqlite:///{(tmp_path / 'ketaflow.db').resolve()}"
    pg = load_settings(var_dir=tmp_path, database_url="postgresql://u@h/db")
    assert pg.effective_database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"mode": "staging"}, "KETAFLOW_MODE"),
        ({"session_idle_minutes": 0}, "KETAFLOW_SESSION_IDLE_MINUTES"),
        ({"database_url": "mysql://x"}, "KETAFLOW_DATABASE_URL"),
        ({"secret_key": "short"}, "secret_key"),
        ({"mfa_required_roles": "admin,chef"}, "KETAFLOW_MFA_REQUIRED_ROLES"),
    ],
)
def test_invalid_settings_name_the_setting(
    tmp_path: Path, overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(var_dir=tmp_path, **overrides)


def test_invalid_environment_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "KETAFLOW_VAR_DIR": str(tmp_path), "KETAFLOW_SESSION_IDLE_MINUTES": "x"}
    result = subprocess.run(
        [sys.executable, "-m", "ketaflow", "serve"],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: invalid setting KETAFLOW_SESSION_IDLE_MINUTES: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_database_errors_never_carry_statement_values(db_url: str) -> None:
    """A failed statement's message (which may reach a log) does not include the values sent."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from ketaflow.db import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn, pytest.raises(IntegrityError) as error:
        for _ in range(2):  # the second breaks the primary key
            conn.execute(text("INSERT INTO audit_checkpoints (id, position, head_hash, "
                              "created_at, mac) VALUES (1, 1, :k, :t, 'x')"),
                         {"k": "Jane Doe 1980-01-01", "t": "2026-01-01 00:00:00"})
    engine.dispose()
    assert "Jane Doe" not in str(error.value)
