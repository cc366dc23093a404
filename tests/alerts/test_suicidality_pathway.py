"""The suicidality pathway over every instrument and level: the exact alerts a rating raises,
their severity, and whether the patient is shown the crisis content (issue 11, item 3).

Levels: none; screen (C-SSRS screen task); same-day (alert: same-day prescriber review); urgent
(alert to the prescriber now, crisis content on the portal, self check-in blocked).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts import service
from ketaflow.alerts.models import Alert, AlertKind, AlertSeverity
from ketaflow.assessments.service import stored_result
from ketaflow.scales import DEFAULT_THRESHOLDS, score
from ketaflow.scales.longitudinal import (
    Action,
    PathwayLevel,
    shows_emergency_pathway,
    suicidality_pathway,
)
from tests.assessments.factories import answers, madrs, make_patient, nurse, phq9, record

SCREEN, SAME_DAY, URGENT_ITEM = (AlertKind.CSSRS_SCREEN, AlertKind.SAME_DAY_REVIEW,
                                 AlertKind.SUICIDALITY_URGENT)


def qids(item12: int) -> dict[str, int | None]:
    return answers("qids-sr16", [1] * 11 + [item12] + [1] * 4)


def cssrs(**yes: int) -> dict[str, int | None]:
    base: dict[str, int | None] = {"wish_to_be_dead": 0, "suicidal_thoughts": 0,
                                   "behaviour_lifetime": 0}
    return {**base, **yes}


# (instrument, answers, pathway level, exact alert kinds)
PATHWAY = [
    ("phq9", phq9(12, item9=0), PathwayLevel.NONE, set()),
    *[("phq9", phq9(12, item9=n), PathwayLevel.URGENT, {SCREEN, URGENT_ITEM}) for n in (1, 2, 3)],
    ("qids-sr16", qids(0), PathwayLevel.NONE, set()),
    *[("qids-sr16", qids(n), PathwayLevel.URGENT, {SCREEN, URGENT_ITEM}) for n in (1, 2, 3)],
    ("madrs", madrs(30, item10=0), PathwayLevel.NONE, set()),
    ("madrs", madrs(30, item10=1), PathwayLevel.NONE, set()),
    ("madrs", madrs(30, item10=2), PathwayLevel.SCREEN, {SCREEN}),
    ("madrs", madrs(30, item10=3), PathwayLevel.SCREEN, {SCREEN}),
    ("madrs", madrs(30, item10=4), PathwayLevel.SAME_DAY, {SCREEN, SAME_DAY}),
    ("madrs", madrs(30, item10=5), PathwayLevel.URGENT, {SCREEN, URGENT_ITEM}),
    ("madrs", madrs(30, item10=6), PathwayLevel.URGENT, {SCREEN, URGENT_ITEM}),
    ("cssrs-screener", cssrs(), PathwayLevel.NONE, set()),
    ("cssrs-screener", cssrs(wish_to_be_dead=1), PathwayLevel.NONE, set()),  # low
    ("cssrs-screener", cssrs(wish_to_be_dead=1, suicidal_thoughts=1, thoughts_with_method=0,
                             intent_without_plan=0, intent_with_plan=0, behaviour_lifetime=1,
                             behaviour_past_3_months=0),
     PathwayLevel.SAME_DAY, {AlertKind.CSSRS_MODERATE}),
    ("cssrs-screener", cssrs(wish_to_be_dead=1, suicidal_thoughts=1, thoughts_with_method=1,
                             intent_without_plan=0, intent_with_plan=0, behaviour_lifetime=0),
     PathwayLevel.SAME_DAY, {AlertKind.CSSRS_MODERATE}),
    ("cssrs-screener", cssrs(wish_to_be_dead=1, suicidal_thoughts=1, thoughts_with_method=1,
                             intent_without_plan=1, intent_with_plan=0, behaviour_lifetime=0),
     PathwayLevel.URGENT, {AlertKind.CSSRS_HIGH}),
    ("cssrs-screener", cssrs(wish_to_be_dead=1, suicidal_thoughts=1, thoughts_with_method=0,
                             intent_without_plan=0, intent_with_plan=0, behaviour_lifetime=1,
                             behaviour_past_3_months=1),
     PathwayLevel.URGENT, {AlertKind.CSSRS_HIGH}),
]
SEVERITY_OF_LEVEL = {PathwayLevel.SAME_DAY: AlertSeverity.URGENT,
                     PathwayLevel.URGENT: AlertSeverity.URGENT}
IDS = [f"{row[0]}-{i}-{row[2]}" for i, row in enumerate(PATHWAY)]


@pytest.mark.parametrize(("instrument", "values", "level", "kinds"), PATHWAY, ids=IDS)
def test_pure_pathway_level(instrument: str, values: dict[str, int | None],
                            level: PathwayLevel, kinds: set[AlertKind]) -> None:
    result = score(instrument, values)
    assert suicidality_pathway(result) is level
    assert shows_emergency_pathway(result) is (level is PathwayLevel.URGENT)


@pytest.mark.parametrize(("instrument", "values", "level", "kinds"), PATHWAY, ids=IDS)
def test_each_path_raises_exactly_these_alerts(db: Session, instrument: str,
                                               values: dict[str, int | None],
                                               level: PathwayLevel,
                                               kinds: set[AlertKind]) -> None:
    stored = record(db, make_patient(db), nurse(db), instrument, values)
    alerts = list(db.scalars(select(Alert).where(Alert.source_assessment_id == stored.id)))
    assert {a.kind for a in alerts} == kinds
    pathway_alerts = [a for a in alerts if a.kind is not SCREEN]
    if level in SEVERITY_OF_LEVEL:
        (alert,) = pathway_alerts
        assert alert.severity is SEVERITY_OF_LEVEL[level]
        assert alert.kind in service.SUICIDALITY_KINDS
        actions = set(alert.action_list)
        if level is PathwayLevel.URGENT:
            assert actions == {str(Action.NOTIFY_PRESCRIBER), str(Action.SHOW_EMERGENCY_PATHWAY),
                               str(Action.BLOCK_SELF_CHECK_IN)}
        else:
            assert actions == {str(Action.SAME_DAY_CLINICIAN_REVIEW)}
    else:
        assert pathway_alerts == []
    assert shows_emergency_pathway(stored_result(stored.current_result)) is (
        level is PathwayLevel.URGENT)


def test_urgent_thresholds_are_settings() -> None:
    later = DEFAULT_THRESHOLDS.with_changes(phq9_item9_urgent_min=2, qids_item12_urgent_min=3,
                                            madrs_item10_urgent_min=6)
    assert suicidality_pathway(score("phq9", phq9(12, item9=1)), later) is PathwayLevel.SCREEN
    assert suicidality_pathway(score("phq9", phq9(12, item9=2)), later) is PathwayLevel.URGENT
    assert suicidality_pathway(score("qids-sr16", qids(2)), later) is PathwayLevel.SCREEN
    assert suicidality_pathway(score("madrs", madrs(30, item10=5)), later) is (
        PathwayLevel.SAME_DAY)
    with pytest.raises(ValueError, match="madrs_item10_urgent_min"):
        DEFAULT_THRESHOLDS.with_changes(madrs_item10_urgent_min=3)
    info = {s.name: s for s in DEFAULT_THRESHOLDS.describe()}
    for name in ("phq9_item9_urgent_min", "qids_item12_urgent_min", "madrs_item10_urgent_min"):
        assert info[name].ref == "suicidality-pathway"
        assert "Columbia Lighthouse Project" in info[name].source
