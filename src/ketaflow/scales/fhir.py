"""FHIR R4 resources for rating scales, built as plain dicts (no FHIR library at run time).

- each instrument as a Questionnaire (item linkId = ketaflow item id; answer options carry their
  score in the R4 `ordinalValue` extension; C-SSRS skip logic as enableWhen);
- a completed rating as a QuestionnaireResponse;
- its total as an Observation (status final, category survey, LOINC code where one exists,
  otherwise a code in https://ketaflow.org/fhir/CodeSystem/scale-scores).

The tests validate every builder's output with the fhir.resources R4B models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ketaflow.scales.instruments import (
    KETAFLOW_SCORES,
    Code,
    Instrument,
    Item,
    ScoringRule,
    get_instrument,
)
from ketaflow.scales.instruments.public import FREQUENCY_LOINC
from ketaflow.scales.scoring import ScoreResult
from ketaflow.scales.wording import DisplayItem, WordingPack, display_wording

QUESTIONNAIRE_BASE = "https://ketaflow.org/fhir/Questionnaire"
ANSWER_SYSTEM = "https://ketaflow.org/fhir/CodeSystem/scale-answers"
RISK_SYSTEM = "https://ketaflow.org/fhir/CodeSystem/cssrs-risk-level"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
YES_NO_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0136"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"

# Instruments sharing the PHQ frequency scale use its LOINC answer codes.
_LOINC_ANSWERS = frozenset({"phq9", "gad7"})

Resource = dict[str, Any]


@dataclass(frozen=True)
class Assessment:
    """A scored rating of one patient, ready for export.

    `patient_reference` is a FHIR reference such as "Patient/123"; `authored_at` must be
    timezone-aware (FHIR dateTimes with a time need a zone).
    """

    result: ScoreResult
    patient_reference: str
    authored_at: datetime
    response_id: str | None = None
    author_reference: str | None = None


def _coding(code: Code) -> dict[str, str]:
    return {"system": code.system, "code": code.code, "display": code.display}


def _answer_coding(instrument: Instrument, score: int, display: str) -> dict[str, str]:
    if instrument.rule is ScoringRule.RISK_LEVEL:
        return {"system": YES_NO_SYSTEM, "code": "Y" if score else "N",
                "display": "Yes" if score else "No"}
    if instrument.id in _LOINC_ANSWERS:
        return {"system": LOINC, "code": FREQUENCY_LOINC[score], "display": display}
    return {"system": ANSWER_SYSTEM, "code": str(score), "display": display}


def _questionnaire_item(instrument: Instrument, item: Item, shown: DisplayItem) -> Resource:
    options = []
    for option in shown.options:
        entry: Resource = {
            "valueCoding": _answer_coding(instrument, option.score, option.text),
            "extension": [{"url": ORDINAL_VALUE, "valueDecimal": option.score}],
        }
        if item.fixed_score == option.score:
            entry["initialSelected"] = True
        options.append(entry)
    resource: Resource = {
        "linkId": item.id,
        "prefix": item.ref,
        "text": shown.text,
        "type": "choice",
        "required": item.fixed_score is None,
        "answerOption": options,
    }
    if item.code is not None:
        resource["code"] = [_coding(item.code)]
    if item.fixed_score is not None:
        resource["readOnly"] = True
    if item.asked_if_yes is not None:
        resource["enableWhen"] = [{
            "question": item.asked_if_yes,
            "operator": "=",
            "answerCoding": _answer_coding(instrument, 1, "Yes"),
        }]
    return resource


def questionnaire_url(instrument: str | Instrument) -> str:
    return f"{QUESTIONNAIRE_BASE}/{get_instrument(instrument).id}"


def questionnaire(instrument: str | Instrument, pack: WordingPack | None = None) -> Resource:
    """The instrument as a Questionnaire, with licensed wording from `pack` if given."""
    definition = get_instrument(instrument)
    shown = display_wording(definition, pack)
    resource: Resource = {
        "resourceType": "Questionnaire",
        "id": definition.id,
        "url": questionnaire_url(definition),
        "version": definition.version,
        "name": "".join(ch for ch in definition.id.title() if ch.isalnum()),
        "title": definition.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": definition.citation,
        "item": [_questionnaire_item(definition, item, shown_item)
                 for item, shown_item in zip(definition.items, shown.items, strict=True)],
    }
    if shown.notice:
        resource["copyright"] = shown.notice
    if definition.panel_code is not None:
        resource["code"] = [_coding(definition.panel_code)]
    return resource


def _check_aware(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("authored_at must be timezone-aware")
    return moment.isoformat()


def questionnaire_response(assessment: Assessment) -> Resource:
    """The completed rating as a QuestionnaireResponse (answered items only)."""
    result = assessment.result
    definition = get_instrument(result.instrument_id)
    items = []
    for item in definition.items:
        if item.id not in result.answers:
            continue  # C-SSRS items the skip logic left out
        value = result.answers[item.id]
        label = next(o.label for o in item.options if o.score == value)
        items.append({
            "linkId": item.id,
            "text": item.name,
            "answer": [{"valueCoding": _answer_coding(definition, value, label)}],
        })
    resource: Resource = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire_url(definition)}|{result.instrument_version}",
        "status": "completed",
        "subject": {"reference": assessment.patient_reference},
        "authored": _check_aware(assessment.authored_at),
        "item": items,
    }
    if assessment.response_id is not None:
        resource["id"] = assessment.response_id
    if assessment.author_reference is not None:
        resource["author"] = {"reference": assessment.author_reference}
    return resource


def _score_code(definition: Instrument, suffix: str, display: str) -> dict[str, str]:
    return {"system": KETAFLOW_SCORES, "code": f"{definition.id}-{suffix}", "display": display}


def total_observation(assessment: Assessment, observation_id: str | None = None) -> Resource:
    """The total (or, for the C-SSRS screener, the risk level) as a survey Observation."""
    result = assessment.result
    definition = get_instrument(result.instrument_id)
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey",
                                  "display": "Survey"}]}],
        "subject": {"reference": assessment.patient_reference},
        "effectiveDateTime": _check_aware(assessment.authored_at),
    }
    if observation_id is not None:
        resource["id"] = observation_id
    if result.risk_level is not None:
        resource["code"] = {"coding": [_score_code(definition, "risk-level",
                                                   f"{definition.name} risk level")]}
        resource["valueCodeableConcept"] = {
            "coding": [{"system": RISK_SYSTEM, "code": str(result.risk_level),
                        "display": str(result.risk_level)}],
            "text": str(result.risk_level),
        }
    else:
        code = (_coding(definition.total_code) if definition.total_code is not None
                else _score_code(definition, "total", f"{definition.name} total score"))
        resource["code"] = {"coding": [code]}
        resource["valueInteger"] = result.total
    if result.severity is not None:
        resource["interpretation"] = [{"text": result.severity.label}]
    if result.subscores:
        resource["component"] = [
            {"code": {"coding": [_score_code(definition, key, f"{definition.name}: {key}")]},
             "valueInteger": value}
            for key, value in result.subscores.items()
        ]
    if assessment.response_id is not None:
        resource["derivedFrom"] = [
            {"reference": f"QuestionnaireResponse/{assessment.response_id}"}]
    return resource
