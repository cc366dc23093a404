"""Questionnaire (each scale), QuestionnaireResponse (each rating) and mood chart entries as
Observations on the seeded clinic, both databases: checked against the definitions and the
rows, searched with their parameters (date prefixes, paging, the questionnaire parameter),
refused to the front desk, bad parameters answered with an OperationOutcome, exported by
`$export`'s writer. The module amends one rating and marks one mood entry entered in error
(its own seeded clinic: the fixture is per module)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ketaflow.assessments import service as assessments
from ketaflow.assessments.models import Assessment, RaterKind
from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import StaffUser
from ketaflow.clinic.service import effective_timezone
from ketaflow.config import Role
from ketaflow.fhir import search
from ketaflow.fhir.bulk import ndjson
from ketaflow.fhir.codes import KETAFLOW_CODES, UCUM
from ketaflow.fhir.outcome import InvalidSearch
from ketaflow.fhir.params import Canonical, parse_canonical, parse_date
from ketaflow.fhir.registry import BY_NAME
from ketaflow.moodchart import service as moodchart
from ketaflow.moodchart.models import MoodEntry
from ketaflow.scales.fhir import ORDINAL_VALUE, QUESTIONNAIRE_BASE
from ketaflow.scales.instruments import INSTRUMENTS, Licence
from tests.fhir.conftest import Clinic, fresh, ids, next_link, validate
from tests.infusions.factories import ctx_for

PHQ9 = f"{QUESTIONNAIRE_BASE}/phq9"
MOOD_CODE = f"{KETAFLOW_CODES}|mood-chart-entry"
POLES = ("depressed", "elevated", "irritable", "anxious")


@dataclass(frozen=True)
class Changes:
    """What this module changed in its clinic: a corrected rating and a struck mood entry."""

    original_id: int
    corrected_id: int
    struck_entry_id: int


@pytest.fixture(scope="module")
def changes(clinic: Clinic) -> Iterator[Changes]:
    db = clinic.db
    db.rollback()
    prescriber = db.scalar(select(StaffUser).where(StaffUser.role == Role.PRESCRIBER)
                           .order_by(StaffUser.id))
    assert prescriber is not None
    original = db.scalars(select(Assessment)
                          .where(Assessment.patient_id == clinic.rated_patient_id,
                                 Assessment.instrument_id == "phq9",
                                 Assessment.superseded_at.is_(None))
                          .order_by(Assessment.rated_at.desc())).first()
    assert original is not None
    answers = dict(original.answers)
    first = INSTRUMENTS["phq9"].items[0].id
    answers[first] = 3 if answers[first] != 3 else 2  # the correction changes one answer
    corrected = assessments.amend_assessment(
        db, ctx_for(prescriber), assessment_id=original.id, answers=answers,
        reason="Item 1 misread from the paper form", rater=assessments.Rater.staff(prescriber.id))
    entry = db.scalars(select(MoodEntry).order_by(MoodEntry.id)).first()
    assert entry is not None
    moodchart.mark_entered_in_error(db, ctx_for(prescriber), patient_id=entry.patient_id,
                                    entry_id=entry.id, reason="Typed for the wrong day",
                                    user_id=prescriber.id)
    found = Changes(original.id, corrected.id, entry.id)
    db.commit()
    yield found


def current_ratings(clinic: Clinic) -> list[Assessment]:
    fresh(clinic)
    return list(clinic.db.scalars(select(Assessment)
                                  .where(Assessment.superseded_at.is_(None))
                                  .options(selectinload(Assessment.results))
                                  .order_by(Assessment.id)))


def clinic_zone(clinic: Clinic) -> ZoneInfo:
    settings = clinic.client.app.state.settings  # type: ignore[attr-defined]
    fresh(clinic)
    return ZoneInfo(effective_timezone(clinic.db, settings))


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


# ---------------------------------------------------------------- Questionnaire


def test_one_questionnaire_per_scale_with_scores_codes_and_licensed_text_only(
        clinic: Clinic) -> None:
    found = {r["id"]: r for r in clinic.resources("/Questionnaire")}
    assert set(found) == set(INSTRUMENTS)
    for instrument_id, definition in INSTRUMENTS.items():
        resource = found[instrument_id]
        validate(resource)
        assert resource["url"] == f"{QUESTIONNAIRE_BASE}/{instrument_id}"
        assert resource["version"] == definition.version
        if definition.panel_code is not None:
            assert resource["code"][0]["code"] == definition.panel_code.code
        for item, fhir_item in zip(definition.items, resource["item"], strict=True):
            assert fhir_item["linkId"] == item.id
            assert fhir_item["type"] == "choice"
            scores = [option["extension"][0] for option in fhir_item["answerOption"]]
            assert all(s["url"] == ORDINAL_VALUE for s in scores)
            assert [s["valueDecimal"] for s in scores] == list(item.scores)
            # Copyrighted wording never leaves: the item's name stands in for its text.
            shipped = item.text if definition.licence is Licence.PUBLIC_WORDING else None
            assert fhir_item["text"] == (shipped or item.name)
        if definition.licence is not Licence.PUBLIC_WORDING:
            assert definition.licence_note in resource["copyright"]
    assert found["phq9"]["code"][0]["code"] == "44249-1"  # LOINC PHQ-9 panel
    assert found["phq9"]["item"][0]["text"].startswith("Little interest or pleasure")
    assert clinic.ok("/Questionnaire/phq9") == found["phq9"]


def test_questionnaire_search_by_id_url_name_and_status(clinic: Clinic) -> None:
    every = set(INSTRUMENTS)
    assert ids(clinic.resources("/Questionnaire", _id="phq9,gad7,nope")) == {"phq9", "gad7"}
    assert ids(clinic.resources("/Questionnaire", url=PHQ9)) == {"phq9"}
    assert clinic.resources("/Questionnaire", url=f"{PHQ9}x") == []
    # A string search: the start of the name, ignoring case.
    assert ids(clinic.resources("/Questionnaire", name="phq")) == {"phq9"}
    assert ids(clinic.resources("/Questionnaire", name="QIDS")) == {"qids-sr16"}
    assert ids(clinic.resources("/Questionnaire", name="C")) == {
        i for i, r in ((r["id"], r) for r in clinic.resources("/Questionnaire"))
        if r["name"].lower().startswith("c")}
    assert ids(clinic.resources("/Questionnaire", status="active")) == every
    assert clinic.resources("/Questionnaire", status="retired") == []
    assert ids(clinic.resources("/Questionnaire", _lastUpdated="ge2026-01-01")) == every
    assert clinic.resources("/Questionnaire", _lastUpdated="gt2099-01-01") == []
    outcome(clinic.get("/Questionnaire/hamd"), 404)


# ---------------------------------------------------------------- QuestionnaireResponse


def _score_of(questionnaire: dict[str, Any], link_id: str, code: str) -> int:
    item = next(i for i in questionnaire["item"] if i["linkId"] == link_id)
    option = next(o for o in item["answerOption"] if o["valueCoding"]["code"] == code)
    return int(option["extension"][0]["valueDecimal"])


def test_responses_are_the_current_ratings_with_their_answers(clinic: Clinic,
                                                              changes: Changes) -> None:
    rows = current_ratings(clinic)
    found = {r["id"]: r for r in clinic.resources("/QuestionnaireResponse")}
    assert set(found) == {f"assessment-{row.id}" for row in rows}
    questionnaires = {r["id"]: r for r in clinic.resources("/Questionnaire")}
    for row in rows:
        resource = found[f"assessment-{row.id}"]
        validate(resource)
        assert resource["questionnaire"] == (
            f"{QUESTIONNAIRE_BASE}/{row.instrument_id}|{row.instrument_version}")
        assert resource["subject"] == {"reference": f"Patient/{row.patient_id}"}
        assert datetime.fromisoformat(resource["authored"]) == row.rated_at
        author = (f"Patient/{row.patient_id}" if row.rater_kind is RaterKind.PATIENT_PORTAL
                  else f"Practitioner/staff-{row.rater_user_id}")
        assert resource["author"] == {"reference": author}
        assert resource["status"] == ("amended" if row.supersedes_id else "completed")
        # Every answer given, read back through the Questionnaire's scores, is the stored one.
        answered = {item["linkId"]: _score_of(questionnaires[row.instrument_id],
                                              item["linkId"],
                                              item["answer"][0]["valueCoding"]["code"])
                    for item in resource["item"]}
        assert answered == {k: v for k, v in row.answers.items() if v is not None}
    # The correction is amended with the latest answers; the original is not served.
    corrected = found[f"assessment-{changes.corrected_id}"]
    assert corrected["status"] == "amended"
    assert f"assessment-{changes.original_id}" not in found
    outcome(clinic.get(f"/QuestionnaireResponse/assessment-{changes.original_id}"), 404)
    assert clinic.ok(f"/QuestionnaireResponse/assessment-{changes.corrected_id}") == corrected
    # Its total Observation is derived from it.
    total = clinic.ok(f"/Observation/assessment-{changes.corrected_id}-total")
    assert total["derivedFrom"] == [
        {"reference": f"QuestionnaireResponse/assessment-{changes.corrected_id}"}]


def test_response_search_by_status_patient_and_questionnaire(clinic: Clinic,
                                                             changes: Changes) -> None:
    rows = current_ratings(clinic)

    def expect(keep: Any) -> set[str]:
        return {f"assessment-{row.id}" for row in rows if keep(row)}

    assert ids(clinic.resources("/QuestionnaireResponse", status="amended")) == {
        f"assessment-{changes.corrected_id}"}
    assert ids(clinic.resources("/QuestionnaireResponse", status="completed")) == expect(
        lambda r: r.supersedes_id is None)
    patient = clinic.rated_patient_id
    assert ids(clinic.resources("/QuestionnaireResponse", patient=f"Patient/{patient}")) == (
        expect(lambda r: r.patient_id == patient))
    phq9 = expect(lambda r: r.instrument_id == "phq9")
    assert phq9
    for value in (PHQ9, f"{PHQ9}|1.0.0", "Questionnaire/phq9", "phq9"):
        assert ids(clinic.resources("/QuestionnaireResponse", questionnaire=value)) == phq9
    assert clinic.resources("/QuestionnaireResponse", questionnaire=f"{PHQ9}|9.9.9") == []
    both = ids(clinic.resources("/QuestionnaireResponse",
                                questionnaire="Questionnaire/phq9,Questionnaire/qids-sr16"))
    assert both == expect(lambda r: r.instrument_id in ("phq9", "qids-sr16"))
    assert ids(clinic.resources("/QuestionnaireResponse", questionnaire="phq9",
                                patient=str(patient))) == expect(
        lambda r: r.instrument_id == "phq9" and r.patient_id == patient)


def test_response_search_by_authored_with_prefixes_and_paging(clinic: Clinic) -> None:
    rows = current_ratings(clinic)
    moments = sorted({row.rated_at for row in rows})
    pivot = moments[len(moments) // 2]
    at = pivot.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def on(prefix: str, value: str = at) -> set[str]:
        return ids(clinic.resources("/QuestionnaireResponse", authored=f"{prefix}{value}"))

    second = pivot.replace(microsecond=0)
    within = [row for row in rows if second <= row.rated_at < second + timedelta(seconds=1)]
    assert on("eq") == {f"assessment-{r.id}" for r in within}
    assert on("ge") == {f"assessment-{r.id}" for r in rows if r.rated_at >= second}
    assert on("lt") == {f"assessment-{r.id}" for r in rows if r.rated_at < second}
    assert on("gt") == {f"assessment-{r.id}" for r in rows
                        if r.rated_at >= second + timedelta(seconds=1)}
    # A day is the clinic's day.
    zone = clinic_zone(clinic)
    day = pivot.astimezone(zone).date()
    assert on("", day.isoformat()) == {f"assessment-{r.id}" for r in rows
                                       if r.rated_at.astimezone(zone).date() == day}
    # Pages of 3 follow next links to exactly the whole set, each once, with the total.
    first = clinic.ok("/QuestionnaireResponse", _count="3")
    assert first["total"] == len(rows)
    seen = [e["resource"]["id"] for e in first["entry"]]
    bundle = first
    while (after := next_link(bundle)) is not None:
        bundle = clinic.ok(after)
        assert len(bundle["entry"]) <= 3
        seen += [e["resource"]["id"] for e in bundle["entry"]]
    assert sorted(seen) == sorted(f"assessment-{r.id}" for r in rows)


def test_response_include_patient(clinic: Clinic) -> None:
    patient = clinic.rated_patient_id
    bundle = clinic.ok("/QuestionnaireResponse", patient=str(patient),
                       _include="QuestionnaireResponse:patient", _count="5")
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in bundle["entry"]]
    assert ("match", "QuestionnaireResponse") in modes
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [r["id"] for r in included] == [str(patient)]
    assert included[0]["resourceType"] == "Patient"


# ---------------------------------------------------------------- mood entries


def mood_entries(clinic: Clinic) -> list[MoodEntry]:
    fresh(clinic)
    return list(clinic.db.scalars(select(MoodEntry).order_by(MoodEntry.id)))


def test_mood_entries_are_survey_observations_with_local_codes(clinic: Clinic,
                                                               changes: Changes) -> None:
    rows = mood_entries(clinic)
    assert rows
    found = {r["id"]: r for r in clinic.resources("/Observation", code=MOOD_CODE)}
    assert set(found) == {f"mood-entry-{row.id}" for row in rows}
    for row in rows:
        resource = found[f"mood-entry-{row.id}"]
        validate(resource)
        assert resource["category"][0]["coding"][0]["code"] == "survey"
        assert resource["code"]["coding"][0] == {
            "system": KETAFLOW_CODES, "code": "mood-chart-entry",
            "display": "Mood chart entry (daily ratings 0-3 and sleep)"}
        assert resource["subject"] == {"reference": f"Patient/{row.patient_id}"}
        assert resource["effectiveDateTime"] == row.day.isoformat()
        parts = {c["code"]["coding"][0]["code"]: c for c in resource["component"]}
        for pole in POLES:
            assert parts[f"mood-{pole}"]["valueInteger"] == getattr(row, pole)
        if row.sleep_h is None:
            assert "sleep-duration" not in parts
        else:
            sleep = parts["sleep-duration"]["valueQuantity"]
            assert (sleep["value"], sleep["system"], sleep["code"]) == (
                round(row.sleep_h, 2), UCUM, "h")
        performer = (f"Patient/{row.patient_id}" if row.entered_by_user_id is None
                     else f"Practitioner/staff-{row.entered_by_user_id}")
        assert resource["performer"] == [{"reference": performer}]
        assert resource["status"] == ("entered-in-error" if row.entered_in_error_at
                                      else "final")
    assert found[f"mood-entry-{changes.struck_entry_id}"]["status"] == "entered-in-error"
    # Both sources of performer: patients through their link and clinicians typing.
    assert {row.entered_by_user_id is None for row in rows} == {True, False}


def test_mood_entries_join_the_observation_search(clinic: Clinic) -> None:
    rows = mood_entries(clinic)
    patient = rows[-1].patient_id
    mine = [row for row in rows if row.patient_id == patient]
    mood_ids = {f"mood-entry-{row.id}" for row in mine}
    survey = ids(clinic.resources("/Observation", patient=str(patient), category="survey"))
    assert mood_ids <= survey  # beside the scale totals
    assert ids(clinic.resources("/Observation", patient=str(patient),
                                code="mood-chart-entry")) == mood_ids
    assert ids(clinic.resources("/Observation", patient=str(patient), code=MOOD_CODE,
                                category="vital-signs")) == set()
    assert ids(clinic.resources("/Observation", patient=str(patient),
                                code="http://loinc.org|mood-chart-entry")) == set()
    days = sorted({row.day for row in mine})
    pivot = days[len(days) // 2]

    def on(prefix: str) -> set[str]:
        return ids(clinic.resources("/Observation", patient=str(patient), code=MOOD_CODE,
                                    date=f"{prefix}{pivot.isoformat()}"))

    def where(keep: Any) -> set[str]:
        return {f"mood-entry-{row.id}" for row in mine if keep(row.day)}

    # The entry's day is the clinic's calendar day: a day search takes exactly that day.
    assert on("") == where(lambda d: d == pivot)
    assert on("ge") == where(lambda d: d >= pivot)
    assert on("gt") == where(lambda d: d > pivot)
    assert on("lt") == where(lambda d: d < pivot)
    assert on("le") == where(lambda d: d <= pivot)
    month = pivot.isoformat()[:7]
    assert ids(clinic.resources("/Observation", patient=str(patient), code=MOOD_CODE,
                                date=month)) == where(lambda d: d.isoformat()[:7] == month)
    entry = clinic.ok(f"/Observation/mood-entry-{mine[0].id}")
    assert entry["id"] == f"mood-entry-{mine[0].id}"


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", "UTC"])
def test_a_mood_day_search_takes_the_days_in_the_clinic_zone(clinic: Clinic,
                                                              zone: str) -> None:
    """West and east of UTC a day's bounds are not midnight UTC: the day searched is still
    exactly that calendar day (the demo clinic is in UTC, so this runs the filter itself)."""
    rows = mood_entries(clinic)
    days = sorted({row.day for row in rows})
    pivot = days[len(days) // 2]
    for prefix, keep in (("eq", lambda d: d == pivot), ("lt", lambda d: d < pivot),
                         ("le", lambda d: d <= pivot), ("gt", lambda d: d > pivot),
                         ("ge", lambda d: d >= pivot)):
        value = parse_date("date", f"{prefix}{pivot.isoformat()}", ZoneInfo(zone))
        condition = search.day_filter(MoodEntry.day)([value])
        found = set(clinic.db.scalars(select(MoodEntry.id).where(condition)))
        assert found == {row.id for row in rows if keep(row.day)}, prefix


def test_questionnaire_references_parse() -> None:
    def parse(raw: str) -> Canonical:
        return parse_canonical("questionnaire", raw, "Questionnaire", QUESTIONNAIRE_BASE)

    assert parse(PHQ9) == Canonical("phq9")
    assert parse(f"{PHQ9}|1.0.0") == Canonical("phq9", "1.0.0")
    assert parse("Questionnaire/qids-sr16") == Canonical("qids-sr16")
    assert parse("gad7") == Canonical("gad7")
    for bad in ("", "gad7|1.0.0", f"{PHQ9}|1|2", "Questionnaire/", "https://x.org/Q/phq9",
                "ph q9", "x" * 65):
        with pytest.raises(InvalidSearch) as refused:
            parse(bad)
        assert refused.value.field == "questionnaire"


# ---------------------------------------------------------------- access and bad input


@pytest.mark.parametrize("path", ["/Questionnaire", "/Questionnaire/phq9",
                                  "/QuestionnaireResponse",
                                  "/Observation?code=mood-chart-entry"])
def test_front_desk_and_researcher_are_refused(clinic: Clinic, path: str) -> None:
    for role in (Role.FRONT_DESK, Role.RESEARCHER):
        body = outcome(clinic.get(path, role), 403)
        assert body["issue"][0]["code"] == "forbidden"
    outcome(clinic.get(path, None), 401)
    assert clinic.get(path, Role.NURSE).status_code == 200


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/QuestionnaireResponse", {"authored": "2026-13-01"}, "authored"),
    ("/QuestionnaireResponse", {"authored": "2026-12-01T10:00"}, "authored"),
    ("/QuestionnaireResponse", {"questionnaire": "Questionnaire/ph q9"}, "questionnaire"),
    ("/QuestionnaireResponse", {"questionnaire": "phq9|1.0.0"}, "questionnaire"),
    ("/QuestionnaireResponse", {"patient": "Patient/abc"}, "patient"),
    ("/QuestionnaireResponse", {"subject": "Patient/1"}, "subject"),
    ("/QuestionnaireResponse", {"_count": "1000000"}, "_count"),
    ("/QuestionnaireResponse", {"_include": "QuestionnaireResponse:author"}, "_include"),
    ("/Questionnaire", {"name": "--"}, "name"),
    ("/Questionnaire", {"url:below": QUESTIONNAIRE_BASE}, "url:below"),
    ("/Questionnaire", {"code": "44249-1"}, "code"),
    ("/Observation", {"date": "yesterday", "code": "mood-chart-entry"}, "date"),
])
def test_bad_parameters_answer_400_naming_the_parameter(clinic: Clinic, path: str,
                                                        params: dict[str, str],
                                                        field: str) -> None:
    body = outcome(clinic.get(path, **params), 400)
    assert body["issue"][0]["expression"] == [field]
    assert "Traceback" not in json.dumps(body)


def test_searches_are_audited_without_values(clinic: Clinic) -> None:
    def count() -> int:
        fresh(clinic)
        return clinic.db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "fhir.search",
            AuditEvent.entity_type == "QuestionnaireResponse")) or 0

    before = count()
    clinic.ok("/QuestionnaireResponse", questionnaire=PHQ9, authored="ge2020-01-01")
    assert count() == before + 1
    event = clinic.db.scalars(select(AuditEvent).where(AuditEvent.action == "fhir.search")
                              .order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert "2020" not in event.detail and PHQ9 not in event.detail
    assert json.loads(event.detail)["parameters"] == ["authored", "questionnaire"]


# ---------------------------------------------------------------- bulk export


def test_bulk_export_writes_the_new_types_as_read_answers_them(clinic: Clinic,
                                                                tmp_path: Path) -> None:
    assert "Questionnaire" in {k.name for k in ndjson.level_types(patient_level=False)}
    # A Questionnaire is about no patient: not in a Patient-level export; responses are.
    patient_level = {k.name for k in ndjson.level_types(patient_level=True)}
    assert "Questionnaire" not in patient_level and "QuestionnaireResponse" in patient_level
    fresh(clinic)
    written = ndjson.write_types(clinic.db, [BY_NAME["Questionnaire"],
                                             BY_NAME["QuestionnaireResponse"],
                                             BY_NAME["Observation"]], tmp_path)
    fresh(clinic)
    counts = {w.type_name: w.count for w in written}
    assert counts["Questionnaire"] == len(INSTRUMENTS)
    assert counts["QuestionnaireResponse"] == len(current_ratings(clinic))
    for name in ("Questionnaire", "QuestionnaireResponse"):
        lines = (tmp_path / f"{name}.ndjson").read_text(encoding="utf-8").splitlines()
        assert len(lines) == counts[name]
        for line in lines[:5]:
            resource = json.loads(line)
            validate(resource)
            assert clinic.ok(f"/{name}/{resource['id']}") == resource
    observations = [json.loads(line) for line in
                    (tmp_path / "Observation.ndjson").read_text(encoding="utf-8").splitlines()]
    mood = [r for r in observations if r["id"].startswith("mood-entry-")]
    assert len(mood) == len(mood_entries(clinic))
    assert clinic.ok(f"/Observation/{mood[0]['id']}") == mood[0]
