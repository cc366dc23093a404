"""`ketaflow export research --out DIR` as an operator runs it: a real process and database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ketaflow.audit.models import AuditEvent
from ketaflow.db import make_engine, make_session_factory
from ketaflow.research import columns
from tests.infusions.factories import make_clinic
from tests.research.bundle import table
from tests.research.factories import people, seed_person

KEY = "cli-research-key-" + "c" * 40
Run = subprocess.CompletedProcess[str]


@pytest.fixture
def seeded_url(db_url: str) -> str:
    engine = make_engine(db_url)
    with make_session_factory(engine)() as db:
        clinic = make_clinic(db)
        base = datetime.now(UTC).date() - timedelta(days=20)
        for person in people(base):
            seed_person(db, clinic, person, base)
        db.commit()
    engine.dispose()
    return db_url


def run(url: str, var_dir: Path, *args: str) -> Run:
    env = {**os.environ, "KETAFLOW_DATABASE_URL": url, "KETAFLOW_VAR_DIR": str(var_dir),
           "KETAFLOW_MODE": "demo", "KETAFLOW_RESEARCH_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "ketaflow", "export", "research", *args],
                          env=env, text=True, capture_output=True, timeout=300, check=False)


def one_line_error(result: Run) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result
    return lines[0]


def test_export_into_a_new_folder_twice_gives_the_same_pseudonyms(
        seeded_url: str, tmp_path: Path) -> None:
    first = run(seeded_url, tmp_path / "var", "--out", str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"wrote 69 rows to {tmp_path / 'one'} (csv)")
    assert "rows/s" in first.stdout and first.stderr == ""
    written = {p.name for p in (tmp_path / "one").iterdir()}
    assert written == {f"{t.name}.csv" for t in columns.TABLES} | {
        "manifest.json", "data_dictionary.json", "data_dictionary.md"}
    (tmp_path / "two").mkdir()  # an empty folder is as good as a new one
    second = run(seeded_url, tmp_path / "var", "--out", str(tmp_path / "two"), "--format",
                 "parquet")
    assert second.returncode == 0, second.stderr
    assert {p.suffix for p in (tmp_path / "two").iterdir()} == {".parquet", ".json", ".md"}
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("one", "two")]
    assert manifests[0]["pseudonym_key_id"] == manifests[1]["pseudonym_key_id"]
    assert KEY not in (tmp_path / "one" / "manifest.json").read_text()
    assert len(table(tmp_path / "one", "patients")) == 3
    engine = make_engine(seeded_url)
    with make_session_factory(engine)() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "research.export")
                            ).all()
        assert [e.actor_role for e in events] == ["system", "system"]
        assert all(e.actor_username.startswith("cli:") for e in events)
    engine.dispose()


def test_a_folder_in_use_or_a_file_is_refused_in_one_line(seeded_url: str,
                                                         tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("keep me\n")
    line = one_line_error(run(seeded_url, tmp_path / "var", "--out", str(used)))
    assert line == f"error: --out must be an empty or new folder; {used} is not empty"
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    afile = tmp_path / "afile.zip"
    afile.write_text("")
    assert "must be a folder" in one_line_error(run(seeded_url, tmp_path / "var", "--out",
                                                    str(afile)))
    assert "--format must be csv, parquet or both" in one_line_error(run(
        seeded_url, tmp_path / "var", "--out", str(tmp_path / "new"), "--format", "xlsx"))
    assert not (tmp_path / "new").exists()
    assert "--out" in one_line_error(run(seeded_url, tmp_path / "var"))
