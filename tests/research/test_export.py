"""The research export on both databases: no identifier survives, ages over 89 are grouped,
intervals survive the date shift, pseudonyms are stable per key, and the export is audited."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.models import InfusionSession, VitalsRecord
from ketaflow.research import columns, deidentify, service
from ketaflow.research.deidentify import ResearchKeys
from ketaflow.research.writers import CsvSink, Format
from tests.infusions.factories import ctx_for, make_clinic
from tests.research.bundle import every_cell, table
from tests.research.factories import WINDOW_DAYS, Seeded, people, seed_person
from tests.support.factories import make_user

ROOT_KEY = b"research-root-key-of-the-tests-" + b"r" * 24
OTHER_KEY = b"another-research-root-key-tests-" + b"o" * 24
BOTH = (Format.CSV, Format.PARQUET)


@pytest.fixture
def seeded(db: Session) -> list[Seeded]:
    clinic = make_clinic(db)
    base = datetime.now(UTC).date() - timedelta(days=20)
    return [seed_person(db, clinic, person, base) for person in people(base)]


def export(db: Session, folder: Path, key: bytes = ROOT_KEY,
           formats: tuple[Format, ...] = BOTH) -> service.ExportSummary:
    researcher = make_user(db, role=Role.RESEARCHER, full_name="Ada Researcher")
    return service.export_research(db, ctx_for(researcher), root_key=key, folder=folder,
                                   formats=formats)


def pseudonym_of(seed: Seeded, key: bytes = ROOT_KEY) -> str:
    return deidentify.pseudonym(ResearchKeys.from_root(key).pseudonym, "patient", seed.patient.id)


def test_no_identifier_or_real_date_survives_in_any_cell(
        db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle")
    # Not vacuous: every table holds the seeded records.
    assert summary.rows == {"patients": 3, "courses": 3, "infusion_sessions": 6, "vitals": 18,
                            "ratings": 6, "mood_daily": 3 * WINDOW_DAYS, "alerts": 3 + 6}
    found, scanned = leaks(summary.folder, seeded)
    assert not found, f"identifiers or real dates survived: {found}"
    assert scanned > 2000
    # The clinical values did come through.
    vitals = table(summary.folder, "vitals")
    assert sorted({row["sbp_mmhg"] for row in vitals}) == ["122.0", "133.0", "141.0"]
    assert {row["dose_mg_per_kg"] for row in table(summary.folder, "infusion_sessions")} == {"0.5"}


def leaks(folder: Path, seeded: list[Seeded]) -> tuple[list[tuple[str, str]], int]:
    """(file, value) for each identifier or real date found in any cell; cells scanned."""
    forbidden = {value.lower() for seed in seeded for value in seed.person.identifiers()}
    forbidden |= {seed.patient.mrn.lower() for seed in seeded}
    forbidden |= {day.isoformat() for seed in seeded for day in seed.real_dates()}
    found, scanned = [], 0
    for name, cell in every_cell(folder):
        scanned += 1
        text = cell.lower()
        found += [(name, value) for value in forbidden if value in text]
    return found, scanned


def test_the_scan_sees_a_leak(db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    """The scan above can fail: a name in a CSV cell, an MRN in Parquet, a real date in the
    dictionary are each found."""
    import pyarrow as pa

    summary = export(db, tmp_path / "bundle")
    person, day = seeded[0].person, seeded[1].base_day
    with (summary.folder / "vitals.csv").open("a") as handle:
        handle.write(f"x,{person.family_name.upper()},,,,,,,,\n")
    pq.write_table(pa.table({"c": [f"id {seeded[2].person.mrn}"]}),
                   summary.folder / "extra.parquet")
    (summary.folder / "data_dictionary.md").write_text(f"on {day.isoformat()}T09:10:00Z\n")
    found, _ = leaks(summary.folder, seeded)
    assert sorted(found) == sorted([("vitals.csv", person.family_name.lower()),
                                    ("extra.parquet", seeded[2].person.mrn.lower()),
                                    ("data_dictionary.md", day.isoformat())])


def test_ages_over_89_are_grouped(db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle", formats=(Format.CSV,))
    by_pseudonym = {row["patient_pseudonym"]: row for row in table(summary.folder, "patients")}
    ages = [(by_pseudonym[pseudonym_of(seed)]["age_at_anchor_years"],
             by_pseudonym[pseudonym_of(seed)]["age_band_at_anchor"],
             by_pseudonym[pseudonym_of(seed)]["age_at_onset_years"]) for seed in seeded]
    assert ages == [("42", "35-44", "18"), ("90+", "90+", "19"), ("89", "75-89", "")]
    assert not {"95", "94", "96"} & {row["age_at_anchor_years"] for row in by_pseudonym.values()}


def _shifts(seed: Seeded, folder: Path, db: Session) -> set[timedelta]:
    """Shifted minus real, for every dated value of the patient in every table."""
    mine = pseudonym_of(seed)
    found: set[timedelta] = set()
    sessions = {s.id: s for s in db.scalars(
        select(InfusionSession).where(InfusionSession.patient_id == seed.patient.id))}
    real_starts = sorted(s.started_at for s in sessions.values() if s.started_at)
    exported = sorted(_moment(r["started_at_shifted"]) for r in table(folder, "infusion_sessions")
                      if r["patient_pseudonym"] == mine)
    found |= {e - r for e, r in zip(exported, real_starts, strict=True)}
    real_vitals = sorted(db.scalars(select(VitalsRecord.taken_at).where(
        VitalsRecord.session_id.in_(sessions))))
    shown = sorted(_moment(r["taken_at_shifted"]) for r in table(folder, "vitals")
                   if r["patient_pseudonym"] == mine)
    found |= {e - r for e, r in zip(shown, real_vitals, strict=True)}
    course = next(r for r in table(folder, "courses") if r["patient_pseudonym"] == mine)
    found.add(date.fromisoformat(course["start_date_shifted"]) - seed.base_day)
    mood = sorted(date.fromisoformat(r["day_shifted"]) for r in table(folder, "mood_daily")
                  if r["patient_pseudonym"] == mine)
    found |= {d - (seed.base_day + timedelta(days=n)) for n, d in enumerate(mood)}
    return found


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_dates_shift_by_one_whole_number_of_days_per_patient_keeping_intervals(
        db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle", formats=(Format.CSV,))
    for seed in seeded:
        shifts = _shifts(seed, summary.folder, db)
        assert len(shifts) == 1, "one patient's dates moved by different amounts"
        shift = shifts.pop()
        assert shift.seconds == 0 and -395 <= shift.days <= -31
    # Offsets are the real intervals: days from the course start, minutes from the start.
    sessions = table(summary.folder, "infusion_sessions")
    assert sorted({row["start_day"] for row in sessions}) == ["2", "4"]
    assert {row["infusion_duration_min"] for row in sessions} == {"40.0"}
    assert {row["end_to_discharge_min"] for row in sessions} == {"60.0", ""}
    minutes = sorted({row["minutes_from_infusion_start"] for row in table(summary.folder,
                                                                          "vitals")})
    assert minutes == ["0.0", "20.0", "45.0"]
    ratings = table(summary.folder, "ratings")
    assert sorted(row["rated_day"] for row in ratings) == ["0"] * 3 + [str(WINDOW_DAYS - 1)] * 3
    alerts = [row for row in table(summary.folder, "alerts") if row["source"] == "rating"]
    assert {row["minutes_to_acknowledge"] for row in alerts} == {"45.0"}


def test_pseudonyms_are_stable_across_exports_and_differ_with_another_key(
        db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    first = export(db, tmp_path / "one", formats=(Format.CSV,))
    again = export(db, tmp_path / "two", formats=(Format.CSV,))
    other = export(db, tmp_path / "three", key=OTHER_KEY, formats=(Format.CSV,))

    def ids(summary: service.ExportSummary, name: str, column: str) -> set[str]:
        return {row[column] for row in table(summary.folder, name)}

    for name, column in (("patients", "patient_pseudonym"), ("courses", "course_pseudonym"),
                         ("infusion_sessions", "session_pseudonym")):
        assert ids(first, name, column) == ids(again, name, column)
        assert not ids(first, name, column) & ids(other, name, column)
    assert ids(first, "patients", "patient_pseudonym") == {pseudonym_of(s) for s in seeded}
    assert (table(first.folder, "vitals") == table(again.folder, "vitals")
            != table(other.folder, "vitals"))
    assert first.key_id == again.key_id != other.key_id
    # A different key moves the dates differently too.
    starts = [ids(s, "courses", "start_date_shifted") for s in (first, other)]
    assert starts[0] != starts[1]


def test_the_export_is_audited_with_counts_only(db: Session, seeded: list[Seeded],
                                                 tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "research.export")).one()
    assert event.actor_role == "researcher" and event.entity_type == "research_export"
    detail = json.loads(event.detail)
    assert detail["rows"] == summary.rows and detail["formats"] == ["csv", "parquet"]
    assert detail["key_id"] == summary.key_id
    for seed in seeded:
        assert not [v for v in seed.person.identifiers() if v.lower() in event.detail.lower()]
        assert pseudonym_of(seed) not in event.detail


def test_parquet_holds_the_same_rows_as_csv(db: Session, seeded: list[Seeded],
                                             tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle")
    for spec in columns.TABLES:
        data = pq.read_table(summary.folder / f"{spec.name}.parquet")
        assert data.column_names == spec.header
        rows = table(summary.folder, spec.name)
        assert data.num_rows == len(rows) == summary.rows[spec.name]
        first_column = spec.header[0]
        assert data.column(first_column).to_pylist() == [row[first_column] for row in rows]
    vitals = pq.read_table(summary.folder / "vitals.parquet").to_pylist()
    assert {row["sbp_mmhg"] for row in vitals} == {122.0, 133.0, 141.0}
    assert all(row["taken_at_shifted"].tzinfo is not None for row in vitals)


def test_manifest_and_dictionary(db: Session, seeded: list[Seeded], tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle")
    manifest = json.loads((summary.folder / "manifest.json").read_text())
    assert manifest["rows"] == summary.rows
    assert {f["file"] for f in manifest["files"]} == {
        f"{t.name}.{ext}" for t in columns.TABLES for ext in ("csv", "parquet")}
    assert manifest["pseudonym_key_id"] == summary.key_id
    text = (summary.folder / "manifest.json").read_text()
    assert ROOT_KEY.decode() not in text
    assert ResearchKeys.from_root(ROOT_KEY).pseudonym.hex() not in text
    dictionary = json.loads((summary.folder / "data_dictionary.json").read_text())
    described = {(t["name"], c["name"]) for t in dictionary["tables"] for c in t["columns"]}
    assert described == {(t.name, c.name) for t in columns.TABLES for c in t.columns}
    assert all(c["rule"] and c["description"] for t in dictionary["tables"]
               for c in t["columns"])


def test_mood_days_leave_out_entries_marked_in_error(db: Session, seeded: list[Seeded],
                                                      tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle", formats=(Format.CSV,))
    first_days = [row for row in table(summary.folder, "mood_daily") if row["day"] == "0"]
    assert len(first_days) == 3
    assert {(r["entry_count"], r["depressed_max"], r["elevated_max"]) for r in first_days} == {
        ("1", "2", "0")}


def test_an_empty_database_gives_headers_only(db: Session, tmp_path: Path) -> None:
    summary = export(db, tmp_path / "bundle")
    assert set(summary.rows.values()) == {0}
    assert (summary.folder / "vitals.csv").read_text().strip() == ",".join(
        columns.VITALS.header)
    assert pq.read_table(summary.folder / "vitals.parquet").num_rows == 0


def test_only_a_new_or_empty_folder(db: Session, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.csv").write_text("x\n")
    with pytest.raises(ValidationFailed, match="--out must be an empty or new folder"):
        export(db, used)
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(ValidationFailed, match="--out must be a folder"):
        export(db, afile)
    assert sorted(p.name for p in used.iterdir()) == ["old.csv"]
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "research.export")) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(db, empty, formats=(Format.CSV,)).rows["patients"] == 0


def test_a_text_cell_cannot_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    """Text columns hold codes only, but the CSV writer neutralises text all the same."""
    table_ = columns.Table("t", "", (
        columns.Column("code", columns.Kind.STRING, "", "", columns.Rule.CODED),
        columns.Column("value", columns.Kind.NUMBER, "", "", columns.Rule.CODED)))
    sink = CsvSink(tmp_path, table_)
    sink.add(("=HYPERLINK(\"http://x\")", -2.5))
    sink.add(("F31.4", 1.0))
    sink.close()
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        "code,value", "\"'=HYPERLINK(\"\"http://x\"\")\",-2.5", "F31.4,1.0"]
