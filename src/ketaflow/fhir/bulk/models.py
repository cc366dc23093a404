"""One row per `$export` request. The row is the job: a worker claims it, keeps a heartbeat on
it while it writes, and records the output; another worker re-claims it if the heartbeat
stops (the process died)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ketaflow.db import Base, str_enum, utcnow


class ExportState(StrEnum):
    QUEUED = "queued"        # waiting for a worker
    RUNNING = "running"      # claimed by `claimed_by`, alive while `heartbeat_at` is recent
    DONE = "done"            # files written; the manifest lists them
    FAILED = "failed"        # the export raised; `error` holds the kind
    CANCELLED = "cancelled"  # DELETE on its status URL; its files are removed


class ExportLevel(StrEnum):
    SYSTEM = "system"    # GET /fhir/R4/$export
    PATIENT = "patient"  # GET /fhir/R4/Patient/$export: the patient compartment of everyone
    GROUP = "group"      # GET /fhir/R4/Group/{id}/$export: the compartments of its members


class FhirExportJob(Base):
    __tablename__ = "fhir_export_jobs"
    __table_args__ = (Index("ix_fhir_export_jobs_state_created_at", "state", "created_at"),)

    # Random, not a sequence: the status URL names it, and ids should not be guessable.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[ExportLevel] = mapped_column(str_enum(ExportLevel, 16))
    # The resource type names asked for (all the level's types when `_type` was not given).
    types: Mapped[list[str]] = mapped_column(JSON)
    since: Mapped[datetime | None] = mapped_column(default=None)
    # A group-level export's Group (its FHIR id), None at the other levels.
    group_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The kick-off URL as called (the manifest's `request`).
    request_url: Mapped[str] = mapped_column(String(2000))
    # Who asked: only they poll, download and cancel it. None for a job not made by a user.
    requester_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"),
                                                          default=None)
    # Or the SMART system client that asked (`ketaflow.fhir.smart`): only it polls the job.
    requester_client_id: Mapped[str | None] = mapped_column(
        ForeignKey("fhir_system_clients.id"), default=None)
    state: Mapped[ExportState] = mapped_column(str_enum(ExportState, 16),
                                               default=ExportState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    # For X-Progress: "Observation (3 of 7 types), 12000 resources so far".
    progress: Mapped[str] = mapped_column(String(200), default="queued")
    # When done: [{"type": "Patient", "count": 120}, ...], one per type in `types`.
    output: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The manifest's transactionTime: when the export's database snapshot was taken.
    transaction_at: Mapped[datetime | None] = mapped_column(default=None)
    # A failure's kind (an exception class name), never its text.
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
