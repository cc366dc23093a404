"""Bulk Data `$export` on the seeded clinic, both databases: kick-off, poll, manifest and
download as a client does it, every NDJSON line parsed as the R4 resource of its file's type;
`_type`, `_since`, refusals, cancel, a job re-claimed after its worker died, and the CLI."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import ApiToken
from ketaflow.booking.models import Appointment
from ketaflow.cli import app as cli_app
from ketaflow.config import Role
from ketaflow.db import make_engine, make_session_factory, transaction, utcnow
from ketaflow.fhir import search
from ketaflow.fhir import service as fhir_service
from ketaflow.fhir.api import FhirResponse
from ketaflow.fhir.bulk import ndjson, processes, service
from ketaflow.fhir.bulk.models import ExportLevel, ExportState, FhirExportJob
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.registry import TYPES as SERVED
from ketaflow.patients.models import Measurement
from tests.conftest import TEST_AUDIT_KEY
from tests.fhir.conftest import FHIR, Clinic, fresh, validate

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
TYPES = tuple(t for t in SERVED if t.exported)  # AuditEvent is served but not exported


def _call(clinic: Clinic, method: str, url: str, role: Role = Role.ADMIN,
          headers: dict[str, str] | None = None, **params: str) -> Response:
    path = url[url.index(FHIR):] if url.startswith(("http", FHIR)) else FHIR + url
    auth = {"Authorization": f"Bearer {clinic.tokens[role]}", **(headers or {})}
    return clinic.client.request(method, path, headers=auth, params=params or None)


def _kickoff(clinic: Clinic, path: str = "/$export", **params: str) -> str:
    response = _call(clinic, "GET", path, headers=ASYNC, **params)
    assert response.status_code == 202, response.text
    location = response.headers["content-location"]
    assert "/fhir/R4/$export-status/" in location
    return location


def _wait(clinic: Clinic, location: str, timeout_s: float = 90.0) -> dict[str, Any]:
    """Poll as a client does: 202 with X-Progress until 200 with the manifest."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = _call(clinic, "GET", location)
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("application/json")
            manifest: dict[str, Any] = response.json()
            return manifest
        assert response.status_code == 202, response.text
        assert response.headers["x-progress"]
        assert response.headers["retry-after"].isdigit()
        assert time.monotonic() < deadline, "the export did not finish"
        time.sleep(0.2)


def _download(clinic: Clinic, url: str) -> list[dict[str, Any]]:
    response = _call(clinic, "GET", url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    text = response.text
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _outcome(response: Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    if field is not None:
        assert body["issue"][0]["expression"] == [field]


def _events(clinic: Clinic, action: str, job_id: str) -> list[dict[str, Any]]:
    """The events' details. Read as plain values and the transaction ended at once: on SQLite
    the test's session holds the write lock while it is open (a refresh would reopen it)."""
    clinic.db.rollback()
    found = [json.loads(detail) for detail in clinic.db.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == action,
                                        AuditEvent.entity_id == job_id))]
    clinic.db.rollback()
    return found


def test_system_export_kickoff_to_download_parses_as_r4(clinic: Clinic) -> None:
    location = _kickoff(clinic)
    job_id = location.rsplit("/", 1)[1]
    manifest = _wait(clinic, location)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith("/fhir/R4/$export")
    datetime.fromisoformat(manifest["transactionTime"])
    assert [item["type"] for item in manifest["output"]] == [t.name for t in TYPES]
    # Without the token, or with another role's, the files are not served.
    url = manifest["output"][0]["url"]
    assert clinic.client.get(url[url.index(FHIR):]).status_code == 401
    _outcome(_call(clinic, "GET", url, role=Role.PRESCRIBER), 403)
    for item in manifest["output"]:
        lines = _download(clinic, item["url"])
        assert len(lines) == item["count"] > 0, item["type"]
        for resource in lines:
            assert resource["resourceType"] == item["type"]
            validate(resource)
        # The export holds as many as search finds (one page each: every search is audited,
        # and sealing thousands of events would slow the SQLite run), each as read answers it.
        assert clinic.ok(f"/{item['type']}", _count="1")["total"] == item["count"]
        assert len({r["id"] for r in lines}) == item["count"]
        assert clinic.ok(f"/{item['type']}/{lines[0]['id']}") == lines[0]
        assert clinic.ok(f"/{item['type']}/{lines[-1]['id']}") == lines[-1]
    assert len(_events(clinic, "fhir.export.start", job_id)) == 1
    downloads = _events(clinic, "fhir.export.download", job_id)
    assert len(downloads) == len(TYPES)
    # Audit details carry ids and counts only.
    assert {e["type"] for e in downloads} == {t.name for t in TYPES}


def _read(db: Session, type_name: str, resource_id: str) -> dict[str, Any]:
    """What `fhir.service.read` answers, without its audit event: a write from this test's
    read-only transaction would race the app's own background writes on SQLite."""
    kind = BY_NAME[type_name]
    plan = search.Plan((search.Criterion(search.ID.name, (resource_id,)),), 1, 0, ())
    hits = search.run(db, kind.sources, plan).hits
    assert len(hits) == 1, (type_name, resource_id)
    return fhir_service._resources(db, hits)[0]


def test_every_exported_line_is_what_read_answers_byte_for_byte(clinic: Clinic,
                                                                tmp_path: Path) -> None:
    """Every line of every file, as the export writes it, against the read's resource for
    its id rendered as the read route renders it: the export's own streaming (one query per
    type, plain rows) and the read's loaders may not drift apart."""
    fresh(clinic)
    try:
        written = ndjson.write_types(clinic.db, TYPES, tmp_path)
        assert sum(item.count for item in written) > 0
        for item in written:
            lines = item.path.read_bytes().splitlines()
            assert len(lines) == item.count, item.type_name
            for line in lines:
                read = _read(clinic.db, item.type_name, json.loads(line)["id"])
                assert FhirResponse(read).body == line, (item.type_name, read["id"])
    finally:
        clinic.db.rollback()


def test_patient_level_export_with_type_filter(clinic: Clinic) -> None:
    manifest = _wait(clinic, _kickoff(clinic, "/Patient/$export",
                                      _type="Observation,Patient"))
    assert [item["type"] for item in manifest["output"]] == ["Patient", "Observation"]
    patients = _download(clinic, manifest["output"][0]["url"])
    assert {r["resourceType"] for r in patients} == {"Patient"}
    # Practitioner is not in the Patient compartment.
    _outcome(_call(clinic, "GET", "/Patient/$export", headers=ASYNC, _type="Practitioner"),
             400, "_type")


def _site_patients(clinic: Clinic) -> dict[int, set[int]]:
    clinic.db.rollback()
    rows = clinic.db.execute(select(Appointment.site_id, Appointment.patient_id)).all()
    clinic.db.rollback()
    members: dict[int, set[int]] = {}
    for site_id, patient_id in rows:
        members.setdefault(site_id, set()).add(patient_id)
    return members


def _patient_of(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Patient":
        return f"Patient/{resource['id']}"
    if resource["resourceType"] == "Appointment":
        return next(p["actor"]["reference"] for p in resource["participant"]
                    if p["actor"]["reference"].startswith("Patient/"))
    element = resource.get("subject") or resource.get("patient")
    assert element is not None, resource["resourceType"]
    return str(element["reference"])


def test_a_group_is_a_sites_patients_and_exports_only_theirs(clinic: Clinic) -> None:
    members = _site_patients(clinic)
    site_id, patients = max(members.items(), key=lambda item: len(item[1]))
    everyone = {int(r["id"]) for r in clinic.resources("/Patient")}
    assert patients < everyone  # the demo has patients without an appointment at this site
    group = clinic.ok(f"/Group/site-{site_id}")
    validate(group)
    assert group["type"] == "person" and group["actual"] is True
    assert group["quantity"] == len(patients)
    assert {m["entity"]["reference"] for m in group["member"]} == {
        f"Patient/{p}" for p in patients}
    location = _kickoff(clinic, f"/Group/site-{site_id}/$export")
    manifest = _wait(clinic, location)
    assert manifest["request"].endswith(f"/fhir/R4/Group/site-{site_id}/$export")
    exported = {item["type"]: _download(clinic, item["url"]) for item in manifest["output"]}
    assert "Practitioner" not in exported and "Group" not in exported
    assert {int(r["id"]) for r in exported["Patient"]} == patients
    wanted = {f"Patient/{p}" for p in patients}
    for type_name, lines in exported.items():
        for resource in lines:
            validate(resource)
            assert _patient_of(resource) in wanted, type_name
    # As many of each type as a search for the members finds (the compartment, nothing lost).
    one = min(patients)
    observations = clinic.resources("/Observation", patient=str(one))
    assert len([r for r in exported["Observation"]
                if r["subject"]["reference"] == f"Patient/{one}"]) == len(observations)


def test_an_unknown_group_or_a_type_outside_the_compartment_is_refused(clinic: Clinic
                                                                       ) -> None:
    _outcome(_call(clinic, "GET", "/Group/site-999999/$export", headers=ASYNC), 404)
    _outcome(_call(clinic, "GET", "/Group/nonsense/$export", headers=ASYNC), 404)
    site_id = min(_site_patients(clinic))
    _outcome(_call(clinic, "GET", f"/Group/site-{site_id}/$export", headers=ASYNC,
                   _type="Location"), 400, "_type")
    _outcome(_call(clinic, "GET", f"/Group/site-{site_id}/$export", headers=ASYNC,
                   role=Role.PRESCRIBER), 403)


def test_since_keeps_only_what_changed_at_or_after_it(clinic: Clinic) -> None:
    everything = _wait(clinic, _kickoff(clinic, _type="Observation"))
    observations = _download(clinic, everything["output"][0]["url"])
    moments = sorted({datetime.fromisoformat(r["meta"]["lastUpdated"]) for r in observations})
    # A cut between two lastUpdated values at least 2 ms apart (they are given to the ms).
    gaps = [(a, b) for a, b in pairwise(moments)
            if b - a >= timedelta(milliseconds=2)]
    assert gaps, "the demo data's observations were all updated at once"
    cut = gaps[len(gaps) // 2][0] + timedelta(milliseconds=1)
    expected = sorted(r["id"] for r in observations
                      if datetime.fromisoformat(r["meta"]["lastUpdated"]) >= cut)
    assert 0 < len(expected) < len(observations)
    since = cut.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    later = _wait(clinic, _kickoff(clinic, _type="Observation", _since=since))
    assert sorted(r["id"] for r in _download(clinic, later["output"][0]["url"])) == expected
    future = _wait(clinic, _kickoff(clinic, _since="2999-01-01T00:00:00+00:00"))
    assert all(item["count"] == 0 for item in future["output"])


@pytest.mark.parametrize(("headers", "params", "field"), [
    ({}, {}, "Prefer"),
    (ASYNC, {"_type": "Patient,Spaceship"}, "_type"),
    (ASYNC, {"_since": "2026-12-01"}, "_since"),
    (ASYNC, {"_since": "2026-02-30T00:00:00Z"}, "_since"),
    (ASYNC, {"_outputFormat": "text/csv"}, "_outputFormat"),
    (ASYNC, {"_typeFilter": "Observation?code=8867-4"}, "_typeFilter"),
])
def test_bad_kickoffs_are_refused_naming_the_parameter(clinic: Clinic, headers: dict[str, str],
                                                        params: dict[str, str],
                                                        field: str) -> None:
    clinic.db.rollback()
    before = clinic.db.scalar(select(FhirExportJob.id).order_by(FhirExportJob.created_at.desc()))
    clinic.db.rollback()
    _outcome(_call(clinic, "GET", "/$export", headers=headers, **params), 400, field)
    clinic.db.rollback()
    after = clinic.db.scalar(select(FhirExportJob.id).order_by(FhirExportJob.created_at.desc()))
    clinic.db.rollback()
    assert after == before  # no job was queued


def test_other_roles_may_not_export(clinic: Clinic) -> None:
    for role in (Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK, Role.RESEARCHER):
        _outcome(_call(clinic, "GET", "/$export", role=role, headers=ASYNC), 403)
    assert clinic.client.get(FHIR + "/$export", headers=ASYNC).status_code == 401


def test_delete_cancels_and_removes_the_files(clinic: Clinic) -> None:
    var_dir: Path = clinic.client.app.state.settings.var_dir  # type: ignore[attr-defined]
    location = _kickoff(clinic)
    job_id = location.rsplit("/", 1)[1]
    assert _call(clinic, "DELETE", location).status_code == 202
    _outcome(_call(clinic, "GET", location), 404)
    _outcome(_call(clinic, "DELETE", location), 404)
    # A finished export deleted: its files go too.
    done = _kickoff(clinic, _type="Patient")
    manifest = _wait(clinic, done)
    folder = service.export_dir(var_dir, done.rsplit("/", 1)[1])
    assert (folder / "Patient.ndjson").is_file()
    assert _call(clinic, "DELETE", done).status_code == 202
    assert not folder.exists()
    _outcome(_call(clinic, "GET", manifest["output"][0]["url"]), 404)
    # The cancelled job's worker (if it had started) left nothing behind either.
    deadline = time.monotonic() + 30
    while service.export_dir(var_dir, job_id).exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert len(_events(clinic, "fhir.export.cancel", job_id)) == 1
    # Another admin's (or an unknown) id is not found.
    _outcome(_call(clinic, "GET", "/$export-status/" + "0" * 32), 404)


def _admin_id(clinic: Clinic) -> int:
    token_id = clinic.tokens[Role.ADMIN].split("_")[1]
    user_id = clinic.db.scalar(select(ApiToken.user_id).where(ApiToken.id == token_id))
    clinic.db.rollback()
    assert user_id is not None
    return user_id


def test_a_job_left_running_by_a_dead_worker_is_reclaimed(clinic: Clinic) -> None:
    job = FhirExportJob(id="d" * 32, level=ExportLevel.SYSTEM, types=["Patient"],
                        request_url="https://testserver/fhir/R4/$export?_type=Patient",
                        requester_user_id=_admin_id(clinic), state=ExportState.RUNNING,
                        attempts=1, claimed_by="gone:1:dead",
                        heartbeat_at=utcnow() - timedelta(minutes=10), progress="Patient")
    clinic.db.add(job)
    clinic.db.commit()
    clinic.client.app.state.fhir_exports.wake()  # type: ignore[attr-defined]
    manifest = _wait(clinic, f"/$export-status/{job.id}")
    assert manifest["output"][0]["count"] == clinic.ok("/Patient", _count="1")["total"]
    clinic.db.rollback()
    stored = clinic.db.get(FhirExportJob, job.id, populate_existing=True)
    attempts, claimed_by = (None, None) if stored is None else (stored.attempts,
                                                                 stored.claimed_by)
    clinic.db.rollback()
    assert (attempts, claimed_by) == (2, None)
    assert len(_events(clinic, "fhir.export.reclaim", job.id)) == 1


def test_claims_are_exclusive_until_the_heartbeat_is_stale(clinic: Clinic) -> None:
    """Two workers: the second finds nothing while the first beats; once the first stops
    beating it takes the job over, and the first can then write nothing more."""
    clinic.db.rollback()
    now = datetime(2090, 1, 1, tzinfo=UTC)  # later than any real job: only ours is stale
    job = FhirExportJob(id="e" * 32, level=ExportLevel.SYSTEM, types=["Patient"],
                        request_url="x", state=ExportState.RUNNING, attempts=1,
                        claimed_by="first", heartbeat_at=now, progress="Patient")
    clinic.db.add(job)
    clinic.db.commit()
    first = service.Claim(job.id, "first", 1, ExportLevel.SYSTEM, ("Patient",), None)
    try:
        assert service.claim_next(clinic.db, worker_id="second", now=now) is None
        later = now + service.STALE_AFTER + timedelta(seconds=1)
        second = service.claim_next(clinic.db, worker_id="second", now=later)
        assert second is not None and (second.job_id, second.attempt) == (job.id, 2)
        assert not service.heartbeat(clinic.db, first, now=later, progress="p")
        assert not service.finish(clinic.db, first, now=later, transaction_at=later, output=[])
        assert service.heartbeat(clinic.db, second, now=later, progress="p")
    finally:
        clinic.db.rollback()  # the runner never sees this job


def test_cli_writes_the_same_files(clinic: Clinic, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _wait(clinic, _kickoff(clinic, _type="Patient,Condition"))
    settings = clinic.client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("KETAFLOW_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("KETAFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KETAFLOW_MODE", "demo")
    monkeypatch.setenv("KETAFLOW_AUDIT_KEY", TEST_AUDIT_KEY)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli_app, ["fhir", "export", "--out", str(out),
                                          "--type", "Patient,Condition"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["Condition.ndjson", "Patient.ndjson"]
    for item in manifest["output"]:
        served = _call(clinic, "GET", item["url"]).text
        assert (out / f"{item['type']}.ndjson").read_text(encoding="utf-8") == served
        assert f"{item['type']}" in result.output
    refused = CliRunner().invoke(cli_app, ["fhir", "export", "--out", str(out),
                                           "--type", "Spaceship"])
    assert refused.exit_code == 2 and "--type" in refused.output


# ---------------------------------------------------------------- two helper processes


def _sessions(clinic: Clinic) -> tuple[Engine, sessionmaker[Session], sessionmaker[Session]]:
    settings = clinic.client.app.state.settings  # type: ignore[attr-defined]
    engine = make_engine(settings.effective_database_url, connections=2)  # as the runner's
    return (engine, make_session_factory(engine, read_only=True),
            make_session_factory(engine))


def _lines(written: list[ndjson.Written]) -> dict[str, list[bytes]]:
    return {item.type_name: sorted(item.path.read_bytes().splitlines()) for item in written}


def test_two_helper_processes_write_what_one_process_writes(
        clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each helper writes its share of every type; put together, the files hold the very
    lines the one-process export writes (in another order), and the counts add up. A
    measurement committed once the helpers have begun is in neither share: they read one
    snapshot, taken before it (PostgreSQL: the coordinator's, imported; SQLite: begun under
    the write lock)."""
    engine, read, write = _sessions(clinic)
    patient_id = clinic.patient_id
    added: list[int] = []
    begin_together = processes._begin_together

    def then_commit(*args: Any, **kwargs: Any) -> datetime:
        at = begin_together(*args, **kwargs)
        with transaction(write) as db:
            added.append(db.execute(insert(Measurement).values(
                patient_id=patient_id, measured_at=utcnow(), recorded_at=utcnow(),
                weight_kg=71.0).returning(Measurement.id)).scalar_one())
        return at

    monkeypatch.setattr(processes, "_begin_together", then_commit)
    try:
        with contextlib.closing(read()) as session:
            ndjson.snapshot(session)
            alone = ndjson.write_types(session, TYPES, tmp_path / "alone")
        calls: list[tuple[str, int]] = []
        shared = processes.export(read, write, TYPES, tmp_path / "shared", suffix=".part1",
                                  progress=lambda name, count: calls.append((name, count))
                                  or True, helpers_from=0)
        assert added, "the measurement was committed while the helpers wrote"
        assert len(shared.helper_peaks_mb) == processes.HELPERS
        assert [(w.type_name, w.count) for w in shared.written] == [
            (w.type_name, w.count) for w in alone]
        assert all(w.path.name == f"{w.type_name}.ndjson.part1" for w in shared.written)
        assert _lines(shared.written) == _lines(alone)
        # Only the joined files are left (no helper's folder), and progress was reported.
        assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == sorted(
            w.path.name for w in shared.written)
        assert calls and calls[-1][1] <= sum(w.count for w in alone)
        with contextlib.closing(read()) as session:  # a read after it sees the measurement
            later = ndjson.write_types(session, [BY_NAME["Observation"]], tmp_path / "later")
        assert later[0].count > dict((w.type_name, w.count) for w in alone)["Observation"]
    finally:
        with transaction(write) as db:  # test data only: the clinic is shared by the module
            db.execute(delete(Measurement).where(Measurement.id.in_(added)))
        engine.dispose()


def test_a_cancel_stops_both_helpers_and_removes_their_files(clinic: Clinic,
                                                             tmp_path: Path) -> None:
    engine, read, write = _sessions(clinic)
    try:
        with pytest.raises(ndjson.Stopped):
            processes.export(read, write, TYPES, tmp_path, suffix=".part1",
                             progress=lambda _name, _count: False, helpers_from=0)
        assert list(tmp_path.iterdir()) == []
    finally:
        engine.dispose()


def test_helpers_keep_to_a_groups_members_and_since(clinic: Clinic, tmp_path: Path) -> None:
    """A Group-level export with `_since`, through the helpers: the lines the one-process
    export writes for the same members and instant."""
    site_id = max(_site_patients(clinic).items(), key=lambda item: len(item[1]))[0]
    group_id = f"site-{site_id}"
    kinds = ndjson.level_types(patient_level=True)
    engine, read, write = _sessions(clinic)
    try:
        with contextlib.closing(read()) as session:
            ndjson.snapshot(session)
            moments = sorted(session.scalars(select(Measurement.recorded_at)))
            since = moments[len(moments) // 2]
            alone = ndjson.write_types(session, kinds, tmp_path / "alone", since=since,
                                       patients=service.group_members(group_id))
        shared = processes.export(read, write, kinds, tmp_path / "shared", since=since,
                                  group_id=group_id, helpers_from=0)
        assert len(shared.helper_cpu_s) == processes.HELPERS
        assert 0 < sum(w.count for w in shared.written) < ndjson.count_resources(
            clinic.db, kinds)
        assert _lines(shared.written) == _lines(alone)
    finally:
        clinic.db.rollback()
        engine.dispose()


def test_a_helper_that_fails_fails_the_export_and_leaves_no_files(clinic: Clinic,
                                                                  tmp_path: Path) -> None:
    """A type the helpers' registry does not know (as if they ran other code) makes both
    stop: the export raises HelperFailed naming the error's kind, and no file is left."""
    unknown = dataclasses.replace(BY_NAME["Patient"], name="Spaceship")
    engine, read, write = _sessions(clinic)
    try:
        with pytest.raises(processes.HelperFailed, match="KeyError"):
            processes.export(read, write, [BY_NAME["Patient"], unknown], tmp_path,
                             suffix=".part1", helpers_from=0)
        assert list(tmp_path.iterdir()) == []
    finally:
        engine.dispose()
