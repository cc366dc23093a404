"""The rows of one synthetic patient (and the clinic's staff and sites), column for column as
the services write them: the same codes, states, scored results and clinic-day timings as
`ketaflow demo seed` produces through the services.

Every name, phone and address is invented; MRNs carry the GEN- prefix so generated patients
are never mistaken for real ones.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table

from ketaflow.assessments.models import Assessment, AssessmentResult, RaterKind, ResultReason
from ketaflow.auth.models import StaffUser
from ketaflow.booking.models import Appointment, AppointmentKind, AppointmentState, Chair, Site
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.clinical.eligibility import Outcome, PregnancyStatus
from ketaflow.config import Role
from ketaflow.courses.models import CourseStateChange, TreatmentCourse
from ketaflow.demo_data.plan import INDUCTION_INFUSIONS, Fate, PatientPlan
from ketaflow.demo_data.scores import max_total, rating_for
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionOrder,
    InfusionSession,
    SessionEvent,
    VitalsRecord,
)
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.diagnosis_codes import (
    BipolarType,
    Episode,
    Severity,
    icd10_code,
    snomed_code,
)
from ketaflow.patients.models import (
    Adherence,
    Diagnosis,
    Measurement,
    Medication,
    NoKnownAllergies,
    Patient,
    PatientDemographics,
    Sex,
    SubstanceUse,
    TreatmentTrial,
    TrialResponse,
)
from ketaflow.patients.search_text import search_name
from ketaflow.screening.models import Consent, Screening, ScreeningAnswer, ScreeningStatus

if TYPE_CHECKING:
    from ketaflow.demo_data.service import _Ids, _Writer

# Every table written, parents before children (the insert order: foreign keys are on).
T: dict[str, Table] = {str(model.__tablename__): cast(Table, model.__table__) for model in (
    StaffUser, Site, Chair, Patient, PatientDemographics, Diagnosis, Measurement, Medication,
    TreatmentTrial, NoKnownAllergies, Screening, ScreeningAnswer, Consent, TreatmentCourse,
    CourseStateChange, InfusionSession, InfusionOrder, VitalsRecord, SessionEvent, Discharge,
    Appointment, Assessment, AssessmentResult, MoodEntry)}

GIVEN = ("Alder", "Briar", "Cedar", "Dale", "Elm", "Fern", "Gale", "Hazel", "Iris", "Juniper",
         "Kestrel", "Linden", "Maple", "Nettle", "Oak", "Perry", "Quill", "Rowan", "Sorrel",
         "Thorn", "Umber", "Vale", "Willow", "Yarrow")
FAMILY = ("Ashgrove", "Brookmere", "Coldharbour", "Dunmore", "Eastwick", "Fallowfield",
          "Greystone", "Holloway", "Ivybridge", "Kingsmere", "Longacre", "Millbrook",
          "Northcote", "Oakridge", "Pennington", "Redfern", "Stonebridge", "Thornbury",
          "Underhill", "Westbrook")
# The signed screening's answers as the demo's eligible patients have them (clinical-sources.md
# #eligibility-screening): requirements met, no contraindication.
YES_ITEMS = ("bipolar_depression_confirmed", "escort_arranged")
NO_ITEMS = ("current_psychotic_features", "psychosis_history", "substance_use_history",
            "dissociative_use_disorder", "vascular_disease", "bp_icp_hazard",
            "cardio_cerebrovascular", "hypertensive_encephalopathy", "known_hypertension",
            "severe_hepatic_impairment", "current_hypomania_mixed", "hypersensitivity",
            "theophylline", "cns_depressants", "sympathomimetics")
# Prior trials that make the course's treatment-resistance history (doses in the usual range).
TRIALS = (("quetiapine", 300.0, 8.0), ("lurasidone", 80.0, 6.0), ("lamotrigine", 200.0, 8.0),
          ("olanzapine", 10.0, 6.0), ("cariprazine", 3.0, 6.0))
ALDRETE = {"activity": 2, "respiration": 2, "circulation": 2, "consciousness": 2,
           "oxygen_saturation": 2}
PADSS = {"vital_signs": 2, "activity_mental_status": 2, "pain_nausea_vomiting": 2,
         "surgical_bleeding": 2, "intake_output": 2}
CADSS_ITEMS = ("slow_motion", "unreality", "body_disconnection", "body_change", "spacing_out",
               "observer_item_22")
STOP_REASON = "patient chose to stop the course"
# The rise in systolic pressure by minutes from the infusion's start (invented for realism;
# ketamine raises blood pressure most near the end of the 40-minute infusion).
_SBP_RISE = ((-5, 0), (5, 6), (10, 9), (20, 12), (30, 14), (40, 12), (55, 6), (70, 3), (85, 1),
             (100, 0))


def _rise_at(minute: int) -> int:
    for (m0, r0), (m1, r1) in itertools.pairwise(_SBP_RISE):
        if m0 <= minute <= m1:
            return round(r0 + (r1 - r0) * (minute - m0) / (m1 - m0))
    return 0


# Vitals during a session: every 5 minutes from 5 before the start, through the infusion and
# the observation, to the patient's readiness for discharge at 100 minutes: 22 readings.
VITALS_MINUTES = tuple((minute, _rise_at(minute)) for minute in range(-5, 101, 5))
# A non-serious adverse event (nausea) in 3% of sessions: invented for realism; no BP alert is
# generated (the vitals stay below every alert threshold, so none would be raised).
P_ADVERSE_EVENT = 0.03
MOOD_DAYS_BEFORE = 7
P_MISSED_MOOD_DAY = 1 / 7


@dataclass(frozen=True)
class Staff:
    prescribers: tuple[tuple[int, ...], ...]  # per site
    nurses: tuple[tuple[int, ...], ...]
    front_desk: tuple[int, ...]
    sites: tuple[int, ...]
    chairs: tuple[tuple[int, ...], ...]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def staff_and_sites(out: _Writer, ids: _Ids, *, sites: int, password_hash: str,
                    first_day: date) -> Staff:
    """Per site: two prescribers, three nurses, one front-desk clerk, six chairs. The accounts
    share one hash of a password nobody knows (nobody signs in as a generated account)."""
    since = _at(first_day, 8)
    prescribers, nurses, chairs, site_ids, desk = [], [], [], [], []

    def person(username: str, full_name: str, role: Role) -> int:
        staff_id = ids.take(T["staff_users"])
        out.add(T["staff_users"], {
            "id": staff_id, "username": username, "full_name": full_name, "role": role,
            "password_hash": password_hash, "is_active": True, "created_at": since,
            "password_changed_at": since})
        return staff_id

    for s in range(sites):
        site_id = ids.take(T["sites"])
        site_ids.append(site_id)
        out.add(T["sites"], {
            "id": site_id, "code": f"GEN{s + 1}", "name": f"Generated clinic {s + 1}",
            "timezone": "UTC", "nurse_ratio": 2, "prescriber_required": True,
            "booking_version": 0, "created_at": since,
            "opening_hours": {d: ["07:00", "19:00"] for d in ("mon", "tue", "wed", "thu",
                                                              "fri", "sat", "sun")}})
        chair_ids = []
        for number in range(1, 7):
            chair_id = ids.take(T["chairs"])
            chair_ids.append(chair_id)
            out.add(T["chairs"], {"id": chair_id, "site_id": site_id, "number": number,
                                  "label": None, "retired_at": None})
        chairs.append(tuple(chair_ids))
        prescribers.append(tuple(person(f"gen-prescriber-{s + 1}-{k}",
                                        f"Dr {GIVEN[(3 * s + k) % 24]} {FAMILY[(s + k) % 20]}",
                                        Role.PRESCRIBER) for k in (1, 2)))
        nurses.append(tuple(person(f"gen-nurse-{s + 1}-{k}",
                                   f"{GIVEN[(5 * s + k + 7) % 24]} {FAMILY[(2 * s + k + 5) % 20]}"
                                   " RN", Role.NURSE) for k in (1, 2, 3)))
        desk.append(person(f"gen-frontdesk-{s + 1}",
                           f"{GIVEN[(7 * s + 11) % 24]} {FAMILY[(3 * s + 9) % 20]}",
                           Role.FRONT_DESK))
    out.flush()
    return Staff(tuple(prescribers), tuple(nurses), tuple(desk), tuple(site_ids), tuple(chairs))


class PatientRows:
    """Adds one patient's rows to the writer, in the order a clinic would record them."""

    def __init__(self, out: _Writer, ids: _Ids, rng: random.Random, plan: PatientPlan,
                 staff: Staff) -> None:
        self.out, self.ids, self.rng, self.plan = out, ids, rng, plan
        self.prescriber = rng.choice(staff.prescribers[plan.site])
        self.nurse = rng.choice(staff.nurses[plan.site])
        self.desk = staff.front_desk[plan.site]
        self.site = staff.sites[plan.site]
        self.chair = rng.choice(staff.chairs[plan.site])
        self.registered = _at(plan.start_on - timedelta(days=21), 10)
        self.screened_on = plan.start_on - timedelta(days=14)
        self.patient_id = 0
        self.measurement_id = 0
        self.screening_id = 0

    def _add(self, name: str, row: dict[str, Any]) -> int:
        table: Table = T[name]
        row_id = self.ids.take(table)
        self.out.add(table, {"id": row_id, **row})
        return row_id

    def record(self) -> None:
        p, rng, at = self.plan, self.rng, self.registered
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = date(at.year - p.age_years, rng.randint(1, 12), rng.randint(1, 28))
        pid = self.ids.take(T["patients"])
        self.patient_id = pid
        self.out.add(T["patients"], {"id": pid, "mrn": f"GEN-{pid:07d}", "created_at": at})
        self._add("patient_demographics_versions", {
            "patient_id": pid, "version": 1, "given_name": given, "family_name": family,
            "date_of_birth": born, "sex": Sex.FEMALE if p.female else Sex.MALE,
            "phone": f"+1 555 01{pid % 100:02d}", "email": None,
            "address": f"{pid % 90 + 1} Sample Lane, Exampletown",
            "emergency_contact_name": None, "emergency_contact_phone": None,
            "referring_clinician": "Dr Alder (fictional GP)", "amendment_reason": None,
            "superseded_at": None, "recorded_at": at, "recorded_by_user_id": self.desk,
            "search_name": search_name(given, family)})
        kind = BipolarType.BIPOLAR_II if p.bipolar_ii else BipolarType.BIPOLAR_I
        severity = None if p.bipolar_ii else rng.choice((Severity.MODERATE, Severity.SEVERE))
        episode = Episode.DEPRESSED
        self._add("patient_diagnoses", {
            "patient_id": pid, "bipolar_type": kind, "current_episode": episode,
            "severity": severity if severity else Severity.MODERATE,
            "icd10_code": icd10_code(kind, episode, severity or Severity.MODERATE),
            "snomed_code": snomed_code(kind), "onset_date": date(born.year + 20, 1, 1),
            "episode_start_date": p.start_on - timedelta(days=rng.randint(120, 500)),
            "psychosis_history": False, "substance_use": SubstanceUse.NONE,
            "substance_use_note": None, "suicide_attempts": 0,
            "last_suicide_attempt_date": None, "amendment_reason": None, "superseded_at": None,
            "recorded_at": at, "recorded_by_user_id": self.prescriber})
        self.measurement_id = self._add("patient_measurements", {
            "patient_id": pid, "measured_at": at, "weight_kg": p.weight_kg,
            "weight_entered": p.weight_kg, "weight_entered_unit": "kg",
            "height_cm": p.height_cm, "height_entered": p.height_cm,
            "height_entered_unit": "cm", "recorded_at": at, "recorded_by_user_id": self.nurse,
            "confirmed_weight_change_percent": None})
        self._add("patient_medications", {
            "patient_id": pid, "drug_name": "lithium", "drug_class": "mood_stabiliser",
            "dose_amount": float(rng.choice((600, 800, 900, 1200))), "dose_unit": "mg/day",
            "start_date": date(at.year - 3, 3, 1), "stop_date": None,
            "adherence": Adherence.GOOD, "lithium_level_mmol_per_l": 0.7,
            "lithium_level_date": self.screened_on, "note": None, "recorded_at": at,
            "recorded_by_user_id": self.prescriber, "above_max_daily_dose_reason": None})
        for k, (drug, dose, weeks) in enumerate(rng.sample(TRIALS, 2)):
            self._add("patient_treatment_trials", {
                "patient_id": pid, "drug_name": drug, "dose_mg_per_day": dose,
                "partner_drug_name": None, "partner_dose_mg_per_day": None,
                "duration_weeks": weeks, "serum_level_mmol_per_l": None,
                "start_date": date(at.year - 2 + k, 2, 1), "adherence_verified": True,
                "response": TrialResponse.NONE if k == 0 else TrialResponse.PARTIAL,
                "note": None, "recorded_at": at, "recorded_by_user_id": self.prescriber})
        self._add("patient_no_known_allergies", {
            "patient_id": pid, "superseded_at": None, "recorded_at": at,
            "recorded_by_user_id": self.nurse})

    def screening(self) -> None:
        p, rng = self.plan, self.rng
        eligible = p.fate is not Fate.NOT_ELIGIBLE
        signed = _at(self.screened_on, 11)
        self.screening_id = self._add("screenings", {
            "patient_id": self.patient_id, "version": 1, "amends_id": None,
            "amendment_reason": None, "status": ScreeningStatus.SIGNED,
            "outcome": Outcome.ELIGIBLE if eligible else Outcome.NOT_ELIGIBLE,
            "systolic_mmhg": rng.randint(110, 138), "diastolic_mmhg": rng.randint(68, 86),
            "heart_rate_bpm": rng.randint(60, 88), "spo2_pct": rng.randint(96, 99),
            "weight_kg": p.weight_kg, "ymrs_total": rng.randint(0, 6),
            "ymrs_override_reason": None,
            "pregnancy_status": (PregnancyStatus.NEGATIVE_TEST if p.female
                                 else PregnancyStatus.NOT_APPLICABLE),
            "pregnancy_test_on": self.screened_on if p.female else None,
            "maudsley_episode_months": rng.randint(4, 24), "maudsley_severity": "moderate",
            "maudsley_failed_antidepressants": 2, "maudsley_augmentation_used": True,
            "maudsley_ect_used": False, "maudsley_total": 8, "resistance_meets": True,
            "resistance_adequate_trials": 2, "note": None, "recorded_at": signed,
            "recorded_by_user_id": self.nurse, "updated_at": signed, "signed_at": signed,
            "signed_by_user_id": self.prescriber, "superseded_at": None})
        for key in YES_ITEMS + NO_ITEMS:
            answer = "yes" if key in YES_ITEMS else "no"
            if not eligible and key == "known_hypertension":
                answer = "yes"  # the contraindication that made the patient not eligible
            self._add("screening_answers", {"screening_id": self.screening_id,
                                            "item_key": key, "answer": answer, "note": None})

    def course(self) -> None:
        p = self.plan
        consent_id = self._add("consents", {
            "patient_id": self.patient_id, "form_version": "OLC-2026.1",
            "consented_on": self.screened_on + timedelta(days=3),
            "witnessed_by_user_id": self.nurse, "note": None,
            "recorded_at": _at(self.screened_on + timedelta(days=3), 10),
            "recorded_by_user_id": self.prescriber})
        state, changes = self._states()
        planned_at = _at(self.screened_on + timedelta(days=4), 10)
        course_id = self._add("treatment_courses", {
            "patient_id": self.patient_id, "screening_id": self.screening_id,
            "consent_id": consent_id, "state": state, "infusion_count": INDUCTION_INFUSIONS,
            "frequency": Frequency.EVERY_2_DAYS, "skip_weekends": False,
            "start_on": p.start_on, "dose_mg_per_kg": 0.5, "max_dose_mg": 100.0,
            "salt_form": "base", "baseline_on": p.start_on, "baseline_fallback": None,
            "baseline_fallback_at": None, "baseline_fallback_by_user_id": None,
            "recorded_at": planned_at, "recorded_by_user_id": self.prescriber,
            "state_changed_at": changes[-1][2]})
        for source, target, moment in changes:
            self._add("course_state_changes", {
                "course_id": course_id, "from_state": source, "to_state": target,
                "reason": STOP_REASON if target is CourseState.STOPPED else None,
                "changed_at": moment, "changed_by_user_id": self.prescriber})
        for number, day in enumerate(p.infusion_days, start=1):
            self._session(course_id, number, day)
        self._ratings(course_id)
        self._mood()

    def _states(self) -> tuple[CourseState, list[tuple[CourseState, CourseState, datetime]]]:
        p = self.plan
        first, last = _at(p.start_on, 8), _at(p.infusion_days[-1], 12)
        steps = [(CourseState.PLANNED, CourseState.ACTIVE, first)]
        if p.stopped:
            steps.append((CourseState.ACTIVE, CourseState.STOPPED, last))
        elif p.given >= INDUCTION_INFUSIONS:
            induction_end = _at(p.infusion_days[INDUCTION_INFUSIONS - 1] + timedelta(days=1), 11)
            target = CourseState.MAINTENANCE if p.maintenance_boosters else CourseState.COMPLETED
            steps.append((CourseState.ACTIVE, target, induction_end))
        return steps[-1][1], steps

    def _session(self, course_id: int, number: int, day: date) -> None:
        p, rng = self.plan, self.rng
        opened, start = _at(day, 9), _at(day, 9, 10)
        end, ready = start + timedelta(minutes=40), start + timedelta(minutes=100)
        discharged = ready + timedelta(minutes=3)
        dose = round(min(0.5 * p.weight_kg, 100.0), 1)
        rate = round(dose / 40 * 60, 1)  # 1 mg/mL over 40 minutes
        sid = self._add("infusion_sessions", {
            "course_id": course_id, "patient_id": self.patient_id, "active_patient_id": None,
            "status": "discharged", "opened_at": opened, "opened_by_user_id": self.nurse,
            "prechecks_at": opened, "started_at": start, "ended_at": end,
            "discharged_at": discharged, "aborted_at": None, "abort_reason": None,
            "rate_ml_per_h": rate, "identity_confirmed": True, "consent_current": True,
            "fasting_confirmed": True, "escort_confirmed": True, "transport_confirmed": True,
            "pregnancy_test": "negative" if p.female else "not_applicable",
            "bp_reviewed_by_user_id": None})
        self._add("infusion_orders", {
            "session_id": sid, "drug": "ketamine_hcl", "lot_number": f"GEN-KET-{day:%y%m}",
            "expiry_date": day + timedelta(days=365), "concentration_mg_per_ml": 1.0,
            "concentration_salt": "base", "dose_salt": "base", "dose_mg_per_kg": 0.5,
            "dose_mg": dose, "dose_mg_base": dose, "dosing_weight_kg": p.weight_kg,
            "weight_measurement_id": self.measurement_id, "duration_min": 40.0,
            "volume_ml": dose, "rate_ml_per_h": rate, "delivered_dose_mg": dose,
            "warnings": [], "override_reason": None, "signed_at": opened,
            "signed_by_user_id": self.prescriber, "superseded_at": None,
            "supersedes_order_id": None, "supersede_reason": None})
        sbp, dbp, hr = rng.randint(112, 132), rng.randint(70, 82), rng.randint(62, 80)
        for minutes, rise in VITALS_MINUTES:
            taken = start + timedelta(minutes=minutes)
            self._add("infusion_vitals", {
                "session_id": sid, "taken_at": taken, "sbp_mmhg": float(sbp + rise),
                "dbp_mmhg": float(dbp + rise // 2), "hr_bpm": float(hr + rise // 3),
                "spo2_percent": float(rng.choice((97, 98, 99))), "rr_per_min": 14.0,
                "rass": 0, "recorded_at": taken, "recorded_by_user_id": self.nurse})
        answers = {item: rng.randint(0, 2) for item in CADSS_ITEMS}
        self._add("infusion_events", {
            "session_id": sid, "kind": EventKind.CADSS6, "occurred_at": end,
            "detail": {"answers": answers, "version": "1.0.0", "minutes_from_start": 40.0},
            "total": sum(answers.values()), "serious": False, "reason": None,
            "recorded_at": end, "recorded_by_user_id": self.nurse})
        self._add("infusion_events", {
            "session_id": sid, "kind": EventKind.STATUS, "occurred_at": discharged,
            "detail": {"action": "discharge", "from": "observation", "to": "discharged",
                       "overridden": False},
            "total": None, "serious": False, "reason": None, "recorded_at": discharged,
            "recorded_by_user_id": self.nurse})
        if rng.random() < P_ADVERSE_EVENT:
            self._add("infusion_events", {
                "session_id": sid, "kind": EventKind.ADVERSE_EVENT,
                "occurred_at": end + timedelta(minutes=10),
                "detail": {"seriousness": "non_serious", "symptoms": []}, "total": None,
                "serious": False, "reason": "nausea after the infusion, settled without treatment",
                "recorded_at": end + timedelta(minutes=12), "recorded_by_user_id": self.nurse})
        self._add("infusion_discharges", {
            "session_id": sid, "aldrete_answers": ALDRETE, "aldrete_total": 10,
            "padss_answers": PADSS, "padss_total": 10, "scales_version": "1.0.0",
            "escort_confirmed": True, "no_driving_advice_given": True, "ready_at": ready,
            "unmet": [], "override_reason": None, "discharged_at": discharged,
            "recorded_by_user_id": self.nurse})
        self._add("appointments", {
            "patient_id": self.patient_id, "site_id": self.site, "chair_id": self.chair,
            "staff_user_id": self.nurse, "kind": AppointmentKind.INFUSION,
            "course_id": course_id, "infusion_number": number, "series_id": None,
            "starts_at": opened, "minutes": 120, "state": AppointmentState.ATTENDED,
            "state_reason": None, "replaces_id": None, "instructions_acknowledged_at": None,
            "booked_at": _at(self.screened_on + timedelta(days=4), 11),
            "booked_by_user_id": self.desk})

    def _ratings(self, course_id: int) -> None:
        """MADRS at every rating moment of the induction and before each maintenance booster;
        QIDS-SR16 and PHQ-9 self-reports at the induction's first and last and on the
        follow-up days, scaled from the MADRS total to each instrument's range. After the
        induction the scores wobble around its final MADRS."""
        p, rng = self.plan, self.rng
        last = len(p.rated_at) - 1
        for k, (moment, madrs) in enumerate(zip(p.rated_at, p.madrs, strict=True)):
            self._rating(course_id, "madrs", madrs, moment, staff=True)
            if k in (0, last):
                self._self_reports(course_id, madrs, moment - timedelta(minutes=20))
        final = p.madrs[-1]
        for day in p.infusion_days[len(p.infusion_days) - p.maintenance_boosters:]:
            self._rating(course_id, "madrs", max(0, final + rng.randint(-2, 2)), _at(day, 8, 30),
                         staff=True)
        for day in p.self_report_days:
            self._self_reports(course_id, max(0, final + rng.randint(-3, 3)), _at(day, 12))

    def _self_reports(self, course_id: int, madrs: int, moment: datetime) -> None:
        for instrument in ("qids-sr16", "phq9"):
            total = round(madrs * max_total(instrument) / max_total("madrs") * 1.4)
            self._rating(course_id, instrument, total, moment, staff=False)

    def _rating(self, course_id: int, instrument: str, total: int, moment: datetime, *,
                staff: bool) -> None:
        stored = rating_for(instrument, min(total, max_total(instrument)))
        assessment_id = self._add("assessments", {
            "patient_id": self.patient_id, "instrument_id": instrument,
            "instrument_version": stored.instrument_version, "rated_at": moment,
            "rater_kind": RaterKind.STAFF if staff else RaterKind.PATIENT_PORTAL,
            "rater_user_id": self.prescriber if staff else None,
            "answers_json": stored.answers_json, "course_id": course_id,
            "portal_link_id": None, "recorded_at": moment, "supersedes_id": None,
            "amendment_reason": None, "superseded_at": None})
        self._add("assessment_results", {
            "assessment_id": assessment_id, "version": 1, "reason": ResultReason.ENTERED,
            "scored_with_version": stored.instrument_version, "scored_at": moment,
            "total": stored.total, "severity": stored.severity, "risk_level": None,
            "flags_json": stored.flags_json, "subscores_json": stored.subscores_json,
            "result_json": stored.result_json, "superseded_at": None})

    def _mood(self) -> None:
        """Daily mood entries from a week before the first infusion to the end of the
        follow-up, recorded by the nurse (the generator makes no patient mood links);
        depression eases as the MADRS does over the first two weeks (0-3 scale)."""
        p, rng = self.plan, self.rng
        first, final = p.madrs[0], p.madrs[-1]
        end = p.follow_up_end or p.rated_at[-1].date()
        for k in range((end - p.start_on).days + MOOD_DAYS_BEFORE + 1):
            day = p.start_on - timedelta(days=MOOD_DAYS_BEFORE - k)
            if rng.random() < P_MISSED_MOOD_DAY:
                continue  # a missed day now and then
            share = max(0.0, min(1.0, (k - MOOD_DAYS_BEFORE) / 14))
            madrs = first + (final - first) * share
            self._add("mood_entries", {
                "patient_id": self.patient_id, "day": day,
                "depressed": max(0, min(3, round(madrs / 12 + rng.uniform(-0.5, 0.5)))),
                "elevated": 0, "irritable": rng.choice((0, 0, 1)),
                "anxious": rng.choice((0, 1, 1, 2)), "sleep_h": rng.choice((6.0, 7.0, 8.0)),
                "medications_taken": {}, "life_event": None, "life_event_impact": None,
                "psychotic_symptoms": False, "menses": None, "note": None,
                "source": "clinician", "form_key": None, "mood_link_id": None,
                "entered_by_user_id": self.nurse, "recorded_at": _at(day, 18),
                "entered_in_error_at": None, "entered_in_error_by_user_id": None,
                "entered_in_error_reason": None})

