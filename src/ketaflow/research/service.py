"""Export the de-identified research bundle: tables, data dictionary and manifest, audited.

One use case: `export_research` writes every table of `ketaflow.research.columns` into an
empty folder, then the dictionary and the manifest, and records one audit event with the row
counts (no patient values). The caller's transaction carries the event; nothing commits here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from ketaflow import __version__
from ketaflow.audit import service as audit_service
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.research import columns, deidentify, queries
from ketaflow.research.deidentify import ResearchKeys
from ketaflow.research.writers import Format, sha256_of, write_table, zip_folder

MANIFEST = "manifest.json"
DICTIONARY_JSON = "data_dictionary.json"
DICTIONARY_MD = "data_dictionary.md"
ENTITY = "research_export"


@dataclass(frozen=True)
class ExportSummary:
    folder: Path
    rows: dict[str, int]
    formats: tuple[Format, ...]
    seconds: float
    key_id: str

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0


def parse_formats(value: str, *, label: str = "Format") -> tuple[Format, ...]:
    """"csv", "parquet" or "both" (as the page's choice and the CLI option read)."""
    choice = value.strip().lower()
    if choice == "both":
        return (Format.CSV, Format.PARQUET)
    try:
        return (Format(choice),)
    except ValueError:
        raise ValidationFailed(f"{label} must be csv, parquet or both", field="format") from None


def require_empty_folder(folder: Path, *, label: str = "--out") -> None:
    """The bundle goes only into a new or empty folder, so no older file is mixed in or
    overwritten."""
    if folder.exists() and not folder.is_dir():
        raise ValidationFailed(f"{label} must be a folder; {folder} is a file", field="out")
    if folder.is_dir() and any(folder.iterdir()):
        raise ValidationFailed(f"{label} must be an empty or new folder; {folder} is not empty",
                               field="out")


def export_research(db: Session, ctx: AuditContext, *, root_key: bytes, folder: Path,
                    formats: Sequence[Format] = (Format.CSV,)) -> ExportSummary:
    require_empty_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keys = ResearchKeys.from_root(root_key)
    frames = queries.Frames(keys)
    queries.prepare(db)
    began, exported_at = time.perf_counter(), utcnow()
    rows: dict[str, int] = {}
    files: list[dict[str, object]] = []
    for table in columns.TABLES:  # patients first: it fills the frames the others use
        count, paths = write_table(folder, table, queries.ROWS[table.name](db, frames), formats)
        rows[table.name] = count
        files += [{"file": p.name, "table": table.name, "rows": count,
                   "bytes": p.stat().st_size, "sha256": sha256_of(p)} for p in paths]
    seconds = time.perf_counter() - began
    (folder / DICTIONARY_JSON).write_text(json.dumps(columns.dictionary(), indent=2) + "\n")
    (folder / DICTIONARY_MD).write_text(columns.dictionary_markdown())
    manifest = {
        "bundle": "ketaflow de-identified research export",
        "exported_at": exported_at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "ketaflow_version": __version__,
        "schema_revision": _schema_revision(db),
        "formats": [fmt.value for fmt in formats],
        "rows": rows,
        "files": files,
        "pseudonym_key_id": keys.key_id,
        "date_shift": {"direction": "earlier", "min_days": deidentify.SHIFT_MIN_DAYS,
                       "max_days": deidentify.SHIFT_MAX_DAYS, "per": "patient"},
        "times": "UTC",
        "rules": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2), except the *_shifted date columns "
                 "(see data_dictionary.md and docs/research-export.md)",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    record_event(db, ctx, action="research.export", entity_type=ENTITY,
                 detail={"rows": rows, "formats": manifest["formats"], "key_id": keys.key_id})
    return ExportSummary(folder, rows, tuple(formats), seconds, keys.key_id)


def _schema_revision(db: Session) -> str | None:
    value = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


@dataclass(frozen=True)
class ZippedExport:
    path: Path
    workdir: Path
    summary: ExportSummary


def export_research_zip(db: Session, ctx: AuditContext, *, root_key: bytes,
                        formats: Sequence[Format]) -> ZippedExport:
    """The bundle as one zip in a new private temporary folder, which the caller removes once
    the file is sent (`workdir`)."""
    workdir = Path(tempfile.mkdtemp(prefix="ketaflow-research-"))
    try:
        summary = export_research(db, ctx, root_key=root_key, folder=workdir / "bundle",
                                  formats=formats)
        name = f"ketaflow-research-export-{utcnow():%Y%m%dT%H%M%SZ}.zip"
        path = zip_folder(summary.folder, workdir / name)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return ZippedExport(path, workdir, summary)


@dataclass(frozen=True)
class PastExport:
    at: datetime
    total_rows: int
    formats: str


def recent_exports(db: Session, *, username: str, limit: int = 10) -> list[PastExport]:
    """This user's latest exports, from the audit trail (the only record kept of them)."""
    events = audit_service.list_events(
        db, audit_service.AuditFilter(actor_username=username, entity_type=ENTITY), limit=limit)
    found = []
    for event in events:
        detail = json.loads(event.detail or "{}")
        found.append(PastExport(event.occurred_at, sum(detail.get("rows", {}).values()),
                                "+".join(detail.get("formats", []))))
    return found
