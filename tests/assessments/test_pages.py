"""Assessment pages over HTTP: the entry form, 422 re-rendering, the chart page, amendments."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments.models import Assessment
from ketaflow.config import Role, Settings
from ketaflow.scales import INSTRUMENTS
from ketaflow.web.app import create_app, dispose_engines
from tests.assessments.factories import madrs, make_patient, phq9, record
from tests.support.web import browser_client
from tests.web.helpers import committed_user, csrf, sign_in


def _signed_in(client: TestClient, db: Session, role: Role = Role.NURSE) -> int:
    user = committed_user(db, role)
    assert sign_in(client, user.username) == 303
    return user.id


def _form(client: TestClient, instrument: str, values: dict[str, int | None],
          **extra: str) -> dict[str, str]:
    data = {"csrf_token": csrf(client), "instrument": instrument, **extra}
    data.update({f"item.{k}": "" if v is None else str(v) for k, v in values.items()})
    return data


def test_every_instrument_has_a_form(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    _signed_in(app_client, app_db)
    for instrument in INSTRUMENTS.values():
        page = app_client.get(f"/patients/{patient.id}/assessments/new",
                              params={"instrument": instrument.id})
        assert page.status_code == 200, instrument.id
        for item in instrument.asked_items:
            assert f'name="item.{item.id}"' in page.text
            assert item.name.replace("'", "&#39;") in page.text
    phq = app_client.get(f"/patients/{patient.id}/assessments/new?instrument=phq9").text
    assert "Pfizer" in phq and "Little interest or pleasure in doing things" in phq
    cssrs = app_client.get(f"/patients/{patient.id}/assessments/new?instrument=cssrs-screener")
    assert "Ask only if item 2 is yes" in cssrs.text and "not asked" in cssrs.text


def test_clinician_enters_a_madrs_and_it_is_on_the_chart(app_client: TestClient,
                                                         app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    user_id = _signed_in(app_client, app_db)
    response = app_client.post(f"/patients/{patient.id}/assessments",
                               data=_form(app_client, "madrs", madrs(32)))
    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/{patient.id}/assessments?notice=saved"
    stored = app_db.scalars(select(Assessment)).one()
    assert stored.rater_user_id == user_id and stored.instrument_id == "madrs"
    app_db.rollback()  # SQLite: release the read transaction before the app writes again
    page = app_client.get(response.headers["location"])
    assert page.status_code == 200 and "Assessment saved." in page.text
    assert '<svg id="chart-madrs" role="img"' in page.text
    assert 'id="chart-madrs"' in page.text
    assert ": 32 (moderate)</title>" in page.text
    assert "style=" not in page.text.split('id="chart-madrs"')[1].split("</svg>")[0]


def test_incomplete_form_is_422_names_the_item_and_keeps_answers(app_client: TestClient,
                                                                 app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    _signed_in(app_client, app_db)
    values = madrs(20) | {"inner_tension": None}
    response = app_client.post(f"/patients/{patient.id}/assessments",
                               data=_form(app_client, "madrs", values, rated_on="2026-01-05"))
    assert response.status_code == 422
    assert "madrs item 3 (inner_tension) is missing" in response.text
    assert re.search(r'<fieldset class="item has-error" id="q-item-inner_tension">',
                     response.text)
    # Everything typed is kept: each given answer is still checked, and the date.
    for item_id, value in values.items():
        if value is not None:
            assert re.search(rf'name="item\.{item_id}" value="{value}" checked', response.text)
    assert 'value="2026-01-05"' in response.text
    too_high = madrs(20) | {"reduced_sleep": 9}
    out_of_range = app_client.post(f"/patients/{patient.id}/assessments",
                                   data=_form(app_client, "madrs", too_high))
    assert out_of_range.status_code == 422 and "must be an integer 0-6 (got 9)" in out_of_range.text
    assert app_db.scalar(select(Assessment)) is None


def test_cssrs_inconsistent_answers_are_refused_with_a_clear_message(app_client: TestClient,
                                                                     app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    _signed_in(app_client, app_db)
    values = {"wish_to_be_dead": 1, "suicidal_thoughts": 0, "intent_with_plan": 1,
              "behaviour_lifetime": 0}
    response = app_client.post(f"/patients/{patient.id}/assessments",
                               data=_form(app_client, "cssrs-screener", values))
    assert response.status_code == 422
    assert "must be left out because item 2 is no" in response.text


def test_scores_page_lists_every_assessment_and_amendment(app_client: TestClient,
                                                         app_db: Session) -> None:
    patient = make_patient(app_db)
    nurse = committed_user(app_db, Role.NURSE)
    first = record(app_db, patient, nurse, "madrs", madrs(30))
    record(app_db, patient, nurse, "phq9", phq9(14, item9=1))
    app_db.commit()
    assert sign_in(app_client, nurse.username) == 303
    amend_form = app_client.get(f"/assessments/{first.id}/amend")
    assert amend_form.status_code == 200 and "Reason for the correction" in amend_form.text
    data = _form(app_client, "madrs", madrs(28), reason="item 2 mis-keyed",
                 rated_on=first.rated_at.date().isoformat())
    response = app_client.post(f"/assessments/{first.id}/amend", data=data)
    assert response.status_code == 303
    corrected = app_client.get(response.headers["location"])
    assert "item 2 mis-keyed" in corrected.text and "Correction saved" in corrected.text
    page = app_client.get(f"/patients/{patient.id}/assessments")
    assert page.text.count('class="superseded"') == 1
    assert 'id="chart-phq9"' in page.text and "suicidality-item-positive" in page.text
    assert "Suicidality item positive: C-SSRS screen needed" in page.text
    assert "No treatment course yet" in page.text
    rescore = app_client.post(f"/assessments/{first.id}/rescore",
                              data={"csrf_token": csrf(app_client)})
    assert rescore.status_code == 409  # the corrected original cannot be re-scored into use


def test_patient_page_section_fragment(app_client: TestClient, app_db: Session) -> None:
    patient = make_patient(app_db)
    nurse = committed_user(app_db, Role.NURSE)
    record(app_db, patient, nurse, "madrs", madrs(34, item10=4))
    app_db.commit()
    assert sign_in(app_client, nurse.username) == 303
    fragment = app_client.get(f"/patients/{patient.id}/assessments/_summary")
    assert fragment.status_code == 200 and "2 open alerts" in fragment.text
    assert "latest 34 (moderate)" in fragment.text
    record_page = app_client.get(f"/patients/{patient.id}")
    assert f'hx-get="/patients/{patient.id}/assessments/_summary"' in record_page.text


def test_a_loaded_wording_pack_is_shown_on_the_form(settings: Settings, tmp_path: Path,
                                                    app_db: Session) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    instrument = INSTRUMENTS["madrs"]
    pack = {"instrument": "madrs", "version": "Clinic copy 2026", "copyright": "Licensed copy",
            "items": [{"id": item.id, "text": f"Licensed wording {item.number}",
                       "options": [{"score": 0, "text": "no sign of it"}]}
                      for item in instrument.items]}
    (folder / "madrs.json").write_text(json.dumps(pack))
    with_packs = settings.model_copy(update={"scales_wording_dir": folder})
    app = create_app(with_packs)
    patient = make_patient(app_db)
    app_db.commit()
    with browser_client(app) as client:
        _signed_in(client, app_db)
        page = client.get(f"/patients/{patient.id}/assessments/new?instrument=madrs")
        assert "Licensed wording 3" in page.text and "no sign of it" in page.text
        assert "Licensed copy" in page.text and "Clinic copy 2026" in page.text
    dispose_engines(app)
