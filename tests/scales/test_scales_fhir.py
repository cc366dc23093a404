"""FHIR builders: every resource validates against the fhir.resources R4B models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ketaflow.scales import INSTRUMENTS, get_instrument, score
from ketaflow.scales.fhir import (
    ORDINAL_VALUE,
    Assessment,
    questionnaire,
    questionnaire_response,
    total_observation,
)
from ketaflow.scales.instruments import KETAFLOW_SCORES
from ketaflow.scales.wording import parse_wording_pack
from tests.scales.conftest import answers_for_total

WHEN = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("instrument_id", list(INSTRUMENTS))
def test_questionnaire_validates_and_carries_scores(instrument_id: str) -> None:
    resource = questionnaire(instrument_id)
    Questionnaire.model_validate(resource)
    instrument = get_instrument(instrument_id)
    assert resource["version"] == instrument.version
    assert [item["linkId"] for item in resource["item"]] == [i.id for i in instrument.items]
    for item, definition in zip(resource["item"], instrument.items, strict=True):
        ordinals = [next(e["valueDecimal"] for e in option["extension"]
                         if e["url"] == ORDINAL_VALUE) for option in item["answerOption"]]
        assert ordinals == list(definition.scores)


def test_questionnaire_details() -> None:
    phq9 = questionnaire("phq9")
    assert phq9["code"][0]["code"] == "44249-1"
    assert phq9["item"][8]["code"][0]["code"] == "44260-8"
    assert phq9["item"][0]["answerOption"][3]["valueCoding"]["code"] == "LA6571-9"
    assert "Pfizer" in phq9["copyright"]
    cssrs = questionnaire("cssrs-screener")
    assert cssrs["item"][2]["enableWhen"][0]["question"] == "suicidal_thoughts"
    assert cssrs["item"][6]["prefix"] == "6b"
    assert cssrs["item"][0]["text"] == "Wish to be dead (past month)"
    bleeding = questionnaire("padss")["item"][3]
    assert bleeding["readOnly"] is True and bleeding["required"] is False
    assert [o.get("initialSelected", False) for o in bleeding["answerOption"]] == [
        False, False, True]


def test_questionnaire_uses_licensed_wording() -> None:
    pack = parse_wording_pack({
        "instrument": "asrm", "version": "v1", "copyright": "Licensed copy",
        "items": [{"id": i.id, "text": f"Licensed {i.number}",
                   "options": [{"score": 4, "text": "most"}]}
                  for i in get_instrument("asrm").items],
    })
    resource = questionnaire("asrm", pack)
    Questionnaire.model_validate(resource)
    assert resource["item"][0]["text"] == "Licensed 1"
    assert resource["item"][0]["answerOption"][4]["valueCoding"]["display"] == "most"
    assert resource["copyright"] == "Licensed copy"


def _assessment(instrument_id: str, answers: list[Any]) -> Assessment:
    return Assessment(score(instrument_id, answers), "Patient/p1", WHEN, response_id="qr-1",
                      author_reference="Practitioner/n1")


@pytest.mark.parametrize(
    ("instrument_id", "system", "code"),
    [("phq9", "http://loinc.org", "44261-6"), ("gad7", "http://loinc.org", "70274-6"),
     ("madrs", KETAFLOW_SCORES, "madrs-total"), ("qids-sr16", KETAFLOW_SCORES, "qids-sr16-total"),
     ("padss", KETAFLOW_SCORES, "padss-total"),
     ("side-effects", KETAFLOW_SCORES, "side-effects-total")],
)
def test_response_and_total_observation(instrument_id: str, system: str, code: str) -> None:
    assessment = _assessment(instrument_id, answers_for_total(instrument_id, 9))
    response = questionnaire_response(assessment)
    QuestionnaireResponse.model_validate(response)
    assert response["questionnaire"].endswith(f"/{instrument_id}|1.0.0")
    assert len(response["item"]) == len(get_instrument(instrument_id).items)
    observation = total_observation(assessment, observation_id="obs-1")
    Observation.model_validate(observation)
    assert observation["status"] == "final"
    assert observation["category"][0]["coding"][0]["code"] == "survey"
    assert observation["code"]["coding"][0]["system"] == system
    assert observation["code"]["coding"][0]["code"] == code
    assert observation["valueInteger"] == 9
    assert observation["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-1"}]


def test_qids_observation_has_domain_components() -> None:
    observation = total_observation(_assessment("qids-sr16", [1] * 16))
    Observation.model_validate(observation)
    assert observation["valueInteger"] == 9
    assert len(observation["component"]) == 9
    assert observation["interpretation"] == [{"text": "mild"}]


def test_cssrs_response_and_risk_observation() -> None:
    assessment = _assessment("cssrs-screener", [True, False, None, None, None, True, True])
    response = questionnaire_response(assessment)
    QuestionnaireResponse.model_validate(response)
    # Skipped items are not in the response.
    assert [item["linkId"] for item in response["item"]] == [
        "wish_to_be_dead", "suicidal_thoughts", "behaviour_lifetime", "behaviour_past_3_months"]
    assert response["item"][0]["answer"][0]["valueCoding"]["code"] == "Y"
    observation = total_observation(assessment)
    Observation.model_validate(observation)
    assert observation["valueCodeableConcept"]["text"] == "high"
    assert "valueInteger" not in observation


def test_naive_datetime_is_refused() -> None:
    assessment = Assessment(score("asrm", [0] * 5), "Patient/p1", datetime(2025, 3, 3, 9, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        questionnaire_response(assessment)
    with pytest.raises(ValueError, match="timezone-aware"):
        total_observation(assessment)
