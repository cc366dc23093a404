"""Sources of Questionnaire (each rating scale's definition) and QuestionnaireResponse (each
rating), through the scales' and assessments' own FHIR mapping (`ketaflow.scales.fhir`,
`ketaflow.assessments.fhir`), so the older export under /api/v1 and this API agree.

A Questionnaire is a definition in code, not a row: its frame is the instrument list as a
literal subquery (one SELECT of constants per instrument, UNION ALL), so it is searched, paged
and exported like any table, with the instrument id ("phq9") as its string row id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, String, and_, case, literal, or_, select, union_all
from sqlalchemy.orm import Session, selectinload

from ketaflow.assessments import fhir as assessments_fhir
from ketaflow.assessments.models import Assessment
from ketaflow.db import UTCDateTime
from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.params import Canonical
from ketaflow.scales import fhir as scales_fhir
from ketaflow.scales.instruments import INSTRUMENTS

PUBLICATION_STATUS = "http://hl7.org/fhir/publication-status"
RESPONSE_STATUS = "http://hl7.org/fhir/questionnaire-answers-status"
# Structured Data Capture's QuestionnaireResponse profile (US Core 6 has none for it).
SDC_RESPONSE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse"
# When the shipped instrument definitions (items, options, codes) last changed: a
# Questionnaire's meta.lastUpdated. Move it with any change to `ketaflow.scales.instruments`.
DEFINITIONS_CHANGED_AT = datetime(2026, 12, 1, 23, 10, 40, tzinfo=UTC)


# ---------------------------------------------------------------- Questionnaire


def _definitions() -> Any:
    rows = [select(literal(definition.id, String(32)).label("id"),
                   literal(DEFINITIONS_CHANGED_AT, UTCDateTime()).label("updated"),
                   literal(scales_fhir.questionnaire_url(definition), String(200)).label("url"),
                   literal(_name(definition.id), String(64)).label("name"))
            for definition in INSTRUMENTS.values()]
    return union_all(*rows).subquery("questionnaires")


def _name(instrument_id: str) -> str:
    # Questionnaire.name as `scales.fhir.questionnaire` builds it ("QidsSr16").
    name: str = scales_fhir.questionnaire(instrument_id)["name"]
    return name


_DEFINED = _definitions()


def _questionnaires(query: Select[Any]) -> Select[Any]:
    return query.select_from(_DEFINED)


def _load_questionnaires(_session: Session, ids: Sequence[str]) -> Mapping[str, Resource]:
    # The shipped wording only: a clinic's licensed wording pack is for its own forms, not
    # for handing to other systems (docs/fhir.md).
    return {instrument_id: scales_fhir.questionnaire(instrument_id)
            for instrument_id in ids if instrument_id in INSTRUMENTS}


QUESTIONNAIRE = search.Source(
    key="questionnaire", row=_DEFINED.c.id, updated=_DEFINED.c.updated,
    base=_questionnaires, load=_load_questionnaires, profile=None, string_ids=True,
    filters={"url": search.uri_equals(_DEFINED.c.url),
             "name": search.starts_with(_DEFINED.c.name),
             "status": search.static_tokens((PUBLICATION_STATUS, "active"))},
)


# ---------------------------------------------------------------- QuestionnaireResponse

# A correction of a rating's answers supersedes it: the correction is `amended`.
RESPONSE_STATUS_SQL = case((Assessment.supersedes_id.is_(None), "completed"), else_="amended")


def _responses(query: Select[Any]) -> Select[Any]:
    # Amended originals are left out, as the scale totals and the older export leave them:
    # the correction (status amended, the latest answers) replaces them.
    return query.select_from(Assessment).where(Assessment.superseded_at.is_(None))


def _load_responses(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.scalars(select(Assessment).where(Assessment.id.in_(ids))
                           .options(selectinload(Assessment.results)))
    return {row.id: assessments_fhir.response_resource(row) for row in rows}


def _questionnaire_filter(values: Sequence[Canonical]) -> search.Condition:
    """By the scale, and by its definition's version when the canonical names one."""
    return or_(*(
        Assessment.instrument_id == value.id if value.version is None
        else and_(Assessment.instrument_id == value.id,
                         Assessment.instrument_version == value.version)
        for value in values))


QUESTIONNAIRE_RESPONSE = search.Source(
    key="assessment-response", row=Assessment.id, updated=Assessment.recorded_at,
    base=_responses, load=_load_responses, profile=SDC_RESPONSE, prefix="assessment-",
    filters={"patient": search.references(Assessment.patient_id),
             "authored": search.date_filter(Assessment.rated_at),
             "questionnaire": _questionnaire_filter,
             "status": search.column_tokens(RESPONSE_STATUS_SQL, RESPONSE_STATUS)},
)
