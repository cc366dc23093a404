"""The chair-side view through the services, on both databases: what the readings table shows,
and that reloading a session in the same transaction sees what was just written."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.rules import DEFAULT_SETTINGS, SessionAction, VitalsReading
from tests.infusions.factories import make_clinic, ready_to_start


def test_readings_are_formatted_newest_first_and_low_spo2_is_flagged(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)  # one reading before the start: 122/78, HR 72, SpO2 98
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    before = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert len(before.readings) == 1
    stop_below = DEFAULT_SETTINGS.stop_spo2_below_percent
    taken = datetime.now(UTC)
    for reading in (  # at the same time: the later one counts as newer
        VitalsReading(taken, sbp_mmhg=131.6, dbp_mmhg=84.2, spo2_percent=stop_below,
                      rr_per_min=12),
        VitalsReading(taken, hr_bpm=88, spo2_percent=stop_below - 1, rass=-2),
    ):
        service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=reading)

    view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)

    # The same transaction already held the session: the reload shows the new readings.
    assert len(view.record.vitals) == len(view.readings) == 3
    newest, middle, oldest = view.readings
    assert (newest.taken_hhmm, newest.bp_mmhg, newest.hr_bpm, newest.spo2_percent,
            newest.rr_per_min, newest.rass) == (taken.strftime("%H:%M"), "", "88",
                                                str(stop_below - 1), "", "-2")
    assert newest.spo2_below_stop
    assert (middle.bp_mmhg, middle.hr_bpm, middle.rr_per_min, middle.rass) == ("131/84", "", "12",
                                                                               "")
    assert not middle.spo2_below_stop  # at the threshold is not below it
    assert (oldest.bp_mmhg, oldest.hr_bpm, oldest.spo2_percent) == ("122/78", "72", "98")
