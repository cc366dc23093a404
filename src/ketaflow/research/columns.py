"""Every exported table and column, with its type, unit, meaning and de-identification rule.

This is the data dictionary: the writers take their headers and types from it, the bundle's
data_dictionary.json and .md are written from it, and docs/research-export.md lists the same
columns (a test checks that none is missing there).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # ISO 8601 UTC, seconds, e.g. 2025-03-04T10:15:00Z
    DATE = "date"  # ISO 8601, e.g. 2025-03-04


class Rule(StrEnum):
    """How a column stands under HIPAA Safe Harbor, 45 CFR 164.514(b)(2)."""

    CLINICAL = "kept: a clinical measurement or count, not one of the 18 identifier kinds"
    CODED = "kept: a value from a fixed coded list (no free text)"
    PSEUDONYM = ("replaced: keyed HMAC-SHA256 pseudonym of the internal record id "
                 "(re-identification code, 164.514(c)); the key stays with the clinic")
    AGE = "age in completed years; 90 and over grouped as \"90+\" ((b)(2)(i)(C))"
    INTERVAL = "interval between two of the patient's own events: no date element"
    SHIFTED = ("date shifted per patient (31 to 395 days earlier, intervals kept): NOT Safe "
               "Harbor, which removes every date element but the year ((b)(2)(i)(B)); an "
               "expert-determination style approach (164.514(b)(1)). Drop for strict Safe Harbor")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    unit: str
    description: str
    rule: Rule


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]


def _c(name: str, kind: Kind, unit: str, description: str, rule: Rule = Rule.CLINICAL
       ) -> Column:
    return Column(name, kind, unit, description, rule)


S, INT, N, B, T, D = Kind.STRING, Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN, Kind.DATETIME, Kind.DATE


def _patient() -> Column:
    return _c("patient_pseudonym", S, "", "The patient's pseudonym (same in every table and in "
              "every export made with the same key).", Rule.PSEUDONYM)


def _course() -> Column:
    return _c("course_pseudonym", S, "", "The treatment course's pseudonym.", Rule.PSEUDONYM)


def _session() -> Column:
    return _c("session_pseudonym", S, "", "The infusion session's pseudonym.", Rule.PSEUDONYM)


def _day(name: str, what: str) -> Column:
    return _c(name, INT, "days", f"Days from the patient's anchor day (first course start, else "
              f"registration) to {what}; negative before it.", Rule.INTERVAL)


PATIENTS = Table("patients", "One row per patient.", (
    _patient(),
    _c("sex", S, "", "Sex assigned at birth: female, male, intersex, unknown.", Rule.CODED),
    _c("bipolar_type", S, "", "bipolar_i or bipolar_ii (current diagnosis); empty if none "
       "recorded.", Rule.CODED),
    _c("current_episode", S, "", "Current episode of the current diagnosis (depressed, "
       "hypomanic, manic, mixed, euthymic).", Rule.CODED),
    _c("icd10_code", S, "", "ICD-10-CM code of the current diagnosis (F31.x).", Rule.CODED),
    _c("psychosis_history", B, "", "Any history of psychotic features.", Rule.CODED),
    _c("substance_use", S, "", "none, past or current (the typed note is dropped).", Rule.CODED),
    _c("suicide_attempts_count", INT, "attempts", "Lifetime suicide attempts recorded."),
    _c("age_at_anchor_years", S, "years", "Age on the anchor day; \"90+\" from 90.", Rule.AGE),
    _c("age_band_at_anchor", S, "years", "Age band on the anchor day (<18, 18-24, ..., 75-89, "
       "90+).", Rule.AGE),
    _c("age_at_onset_years", S, "years", "Age at illness onset; \"90+\" from 90; empty if the "
       "onset is not recorded.", Rule.AGE),
    _c("anchor", S, "", "What the anchor day is: first_course_start or registration.",
       Rule.CODED),
    _c("anchor_date_shifted", D, "", "The anchor day, shifted.", Rule.SHIFTED),
    _c("course_count", INT, "courses", "Treatment courses recorded."),
))

COURSES = Table("courses", "One row per treatment course.", (
    _course(), _patient(),
    _c("course_number", INT, "", "1 for the patient's first course, 2 for the next, ..."),
    _c("state", S, "", "Course state now (planned, active, paused, maintenance, completed, "
       "stopped); reasons typed by staff are dropped.", Rule.CODED),
    _c("planned_infusion_count", INT, "infusions", "Infusions planned for the induction."),
    _c("frequency", S, "", "Planned rhythm of the induction infusions.", Rule.CODED),
    _c("skip_weekends", B, "", "Whether planned dates skip weekends.", Rule.CODED),
    _c("planned_dose_mg_per_kg", N, "mg/kg", "Planned dose per kg body weight."),
    _c("max_dose_mg", N, "mg", "Cap on one infusion's dose."),
    _c("salt_form", S, "", "Whether doses are of ketamine base or hydrochloride.", Rule.CODED),
    _c("start_date_shifted", D, "", "First planned infusion day, shifted.", Rule.SHIFTED),
    _day("start_day", "the course's first planned day"),
    _c("baseline_date_shifted", D, "", "Day of the rating baseline, shifted.", Rule.SHIFTED),
    _day("baseline_day", "the rating baseline"),
    _c("baseline_fallback", S, "", "The labelled fallback chosen when no pre-treatment rating "
       "exists; empty if none.", Rule.CODED),
))

SESSIONS = Table("infusion_sessions", "One row per infusion session (the current order).", (
    _session(), _course(), _patient(),
    _c("session_number", INT, "", "1 for the course's first session, 2 for the next, ..."),
    _c("status", S, "", "Session status (discharged, aborted, ...); the abort reason typed by "
       "staff is dropped.", Rule.CODED),
    _c("opened_at_shifted", T, "", "When the session was opened, shifted.", Rule.SHIFTED),
    _c("started_at_shifted", T, "", "When the infusion started, shifted.", Rule.SHIFTED),
    _c("ended_at_shifted", T, "", "When the infusion ended, shifted.", Rule.SHIFTED),
    _c("discharged_at_shifted", T, "", "When the patient was discharged, shifted.",
       Rule.SHIFTED),
    _day("start_day", "the infusion's start (or the session's opening)"),
    _c("infusion_duration_min", N, "min", "Minutes from infusion start to end.",
       Rule.INTERVAL),
    _c("end_to_discharge_min", N, "min", "Minutes from infusion end to discharge.",
       Rule.INTERVAL),
    _c("dose_mg_per_kg", N, "mg/kg", "Ordered dose per kg (current order)."),
    _c("dose_mg", N, "mg", "Ordered dose (current order), in the dose salt."),
    _c("dose_salt", S, "", "Salt the dose is expressed in (base or hydrochloride).",
       Rule.CODED),
    _c("dosing_weight_kg", N, "kg", "Body weight the order was calculated on."),
    _c("ordered_duration_min", N, "min", "Ordered infusion duration."),
    _c("delivered_dose_mg", N, "mg", "Dose delivered at the ordered rate over the time run."),
    _c("rate_ml_per_h", N, "mL/h", "Ordered pump rate."),
    _c("order_count", INT, "orders", "Orders signed for the session (replacements included)."),
    _c("max_cadss6_total", INT, "points", "Highest CADSS-6 dissociation total charted."),
    _c("adverse_event_count", INT, "events", "Adverse events charted."),
    _c("serious_adverse_event_count", INT, "events", "Serious adverse events charted."),
    _c("rescue_medication_count", INT, "doses", "Rescue medications charted."),
    _c("infusion_alert_count", INT, "alerts", "Alerts raised during the session."),
    _c("aldrete_total", INT, "points", "Aldrete score at discharge."),
    _c("padss_total", INT, "points", "PADSS score at discharge."),
))

VITALS = Table("vitals", "One row per vital-signs reading of an infusion session.", (
    _session(), _patient(),
    _c("taken_at_shifted", T, "", "When the reading was taken, shifted.", Rule.SHIFTED),
    _c("minutes_from_infusion_start", N, "min", "Minutes from the infusion start (or the "
       "session's opening) to the reading; negative before the start.", Rule.INTERVAL),
    _c("sbp_mmhg", N, "mmHg", "Systolic blood pressure."),
    _c("dbp_mmhg", N, "mmHg", "Diastolic blood pressure."),
    _c("hr_bpm", N, "beats/min", "Heart rate."),
    _c("spo2_percent", N, "%", "Oxygen saturation."),
    _c("rr_per_min", N, "breaths/min", "Respiratory rate."),
    _c("rass", INT, "points", "Richmond Agitation-Sedation Scale (-5 to +4)."),
))

RATINGS = Table("ratings", "One row per current rating (amended ratings: the correction only).", (
    _patient(),
    _c("course_pseudonym", S, "", "The course the rating belongs to; empty before any course.",
       Rule.PSEUDONYM),
    _c("instrument_id", S, "", "Rating scale (madrs, qids-sr16, phq9, ymrs, cssrs, ...).",
       Rule.CODED),
    _c("instrument_version", S, "", "Version of the scale's definition answered.", Rule.CODED),
    _c("rater_kind", S, "", "staff or patient-portal (staff names are dropped).", Rule.CODED),
    _c("rated_date_shifted", D, "", "Day of the rating, shifted.", Rule.SHIFTED),
    _day("rated_day", "the rating"),
    _c("total", INT, "points", "Total score (current scoring)."),
    _c("severity", S, "", "Severity band of the total, as the scale defines it.", Rule.CODED),
    _c("risk_level", S, "", "Risk level (suicidality scales).", Rule.CODED),
    _c("amended", B, "", "Whether this rating corrects an earlier one.", Rule.CODED),
))

MOOD = Table("mood_daily", "One row per patient and day with mood entries (entries marked "
             "entered in error left out).", (
    _patient(),
    _c("day_shifted", D, "", "The day the entries are about, shifted.", Rule.SHIFTED),
    _day("day", "that day"),
    _c("entry_count", INT, "entries", "Entries for the day."),
    _c("depressed_max", INT, "0-3", "Highest depressed-mood score."),
    _c("elevated_max", INT, "0-3", "Highest elevated-mood score."),
    _c("irritable_max", INT, "0-3", "Highest irritability score."),
    _c("anxious_max", INT, "0-3", "Highest anxiety score."),
    _c("sleep_h_mean", N, "h", "Mean hours slept reported."),
    _c("psychotic_symptoms_any", B, "", "Psychotic symptoms reported that day."),
))

ALERTS = Table("alerts", "One row per alert: rating and mood-chart alerts, and alerts of "
               "infusion sessions. Messages and actions typed by staff are dropped.", (
    _patient(),
    _c("session_pseudonym", S, "", "The infusion session (infusion alerts only).",
       Rule.PSEUDONYM),
    _c("source", S, "", "rating, mood or infusion.", Rule.CODED),
    _c("kind", S, "", "The alert's kind (e.g. cssrs-high, mood-switch, or an infusion code "
       "such as sbp-high).", Rule.CODED),
    _c("severity", S, "", "Severity or level of the alert.", Rule.CODED),
    _c("raised_at_shifted", T, "", "When the alert was raised, shifted.", Rule.SHIFTED),
    _day("raised_day", "the alert"),
    _c("acknowledged", B, "", "Whether someone has recorded the action taken."),
    _c("minutes_to_acknowledge", N, "min", "Minutes from raising to acknowledgement.",
       Rule.INTERVAL),
))

TABLES: tuple[Table, ...] = (PATIENTS, COURSES, SESSIONS, VITALS, RATINGS, MOOD, ALERTS)


def dictionary() -> dict[str, Any]:
    """The data dictionary as JSON-ready data."""
    return {"tables": [{"name": t.name, "file": f"{t.name}.csv", "description": t.description,
                        "columns": [{**asdict(c), "kind": c.kind.value, "rule": c.rule.value}
                                    for c in t.columns]} for t in TABLES]}


def dictionary_markdown() -> str:
    lines = ["# Data dictionary", "", "Times are UTC. Rules refer to HIPAA Safe Harbor, "
             "45 CFR 164.514(b)(2); see docs/research-export.md.", ""]
    for table in TABLES:
        lines += [f"## {table.name}", "", table.description, "",
                  "| column | type | unit | meaning | de-identification |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.kind.value} | {c.unit} | {c.description} | {c.rule.value} |"
                  for c in table.columns]
        lines.append("")
    return "\n".join(lines)
