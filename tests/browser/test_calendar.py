"""In Chromium: the front desk adds a site (a bad time zone refused, naming the field), puts a
nurse on shift (an overlap refused), and sees the site's day with the patient's identifiers,
then cancels an appointment with its reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from ketaflow.booking import service, sites
from ketaflow.booking.models import Appointment, AppointmentKind, Site
from ketaflow.config import Role
from tests.assessments.factories import make_course
from tests.booking.factories import make_clinic
from tests.browser.conftest import PHONE, SIZES, assert_fits, db_session, shot, sign_in
from tests.patients.factories import make_patient
from tests.support.factories import SYSTEM, make_user


def test_front_desk_sets_up_a_site_and_works_its_day(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        desk = make_user(db, role=Role.FRONT_DESK, full_name="Dana Reyes").username
        make_user(db, role=Role.NURSE, full_name="Nora Quist")
        patient = make_patient(db)
        mrn = patient.mrn
    sign_in(page, desk)
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    page.get_by_label("Code (short, e.g. NORTH)").fill("NORTH")
    page.get_by_label("Name", exact=True).fill("North clinic")
    page.get_by_label(re.compile("^Time zone")).fill("Europe/Londn")
    page.get_by_role("button", name="Add site").click()
    expect(page.locator("#e-timezone")).to_contain_text("IANA zone")
    expect(page.get_by_label("Name", exact=True)).to_have_value("North clinic")
    page.get_by_label(re.compile("^Time zone")).fill("Europe/London")
    page.get_by_role("button", name="Add site").click()
    expect(page.get_by_text("Site saved.")).to_be_visible()
    zone = ZoneInfo("Europe/London")
    today = datetime.now(UTC).astimezone(zone).date()
    # A weekday the site opens (Mon-Fri by default), a week ahead.
    day = today + timedelta(days=7 - today.weekday())
    page.goto(page.url.split("?")[0] + f"?day={day.isoformat()}")
    page.get_by_label("Shift starts").fill("08:00")
    page.get_by_label("Shift ends").fill("14:00")
    page.get_by_role("button", name="Add shift").click()
    expect(page.get_by_text("Shift added.")).to_be_visible()
    page.get_by_label("Shift starts").fill("12:00")
    page.get_by_label("Shift ends").fill("16:00")
    page.get_by_role("button", name="Add shift").click()
    expect(page.locator("#e-starts")).to_contain_text("overlaps Nora Quist's shift 08:00 to 14:00")
    with db_session(db_url) as db:
        site = db.query(Site).one()
        db.add(Appointment(patient_id=patient.id, site_id=site.id, kind=AppointmentKind.INFUSION,
                           infusion_number=1, minutes=120,
                           starts_at=datetime.combine(day, datetime.min.time(), zone)
                           .replace(hour=9).astimezone(UTC)))
    page.goto(f"{page.url.split('/calendar')[0]}/calendar/sites/{site.id}?day={day.isoformat()}")
    row = page.get_by_test_id("appointment-row")
    expect(row).to_contain_text("09:00–11:00")
    expect(row).to_contain_text(mrn)
    expect(row).to_contain_text("infusion 1")
    shot(page, "calendar-01-site-day")
    row.get_by_text("Cancel or no-show").click()
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#e-reason")).to_have_text("Reason is required")
    row = page.get_by_test_id("appointment-row")
    row.get_by_label("Reason (required)").fill("Patient unwell")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Appointment updated.")).to_be_visible()
    expect(page.get_by_test_id("appointment-row")).to_contain_text("Patient unwell")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shot(page, "calendar-02-site-day-phone")


def test_front_desk_books_a_series_and_moves_the_third(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        clinic = make_clinic(db)
        patient = make_patient(db, email="patient@example.org")
        make_course(db, patient, datetime.now(UTC).date() + timedelta(days=1))
        desk = make_user(db, role=Role.FRONT_DESK, full_name="Dana Reyes").username
        patient_id, monday, site_id = patient.id, clinic.first_monday, clinic.site.id
    sign_in(page, desk)
    origin = "/".join(page.url.split("/")[:3])
    page.goto(f"{origin}/patients/{patient_id}")
    page.get_by_role("link", name="Book infusions").click()
    expect(page.get_by_test_id("patient-banner")).to_contain_text("MRN")
    page.get_by_label("First possible day").fill(monday.isoformat())
    for day in ("Mon", "Wed", "Fri"):
        page.get_by_label(day, exact=True).check()
    page.get_by_label("Start from (site time, optional)").fill("09:00")
    page.get_by_role("button", name="Find times").click()
    options = page.get_by_test_id("option")
    expect(options).to_have_count(4)
    expect(options.first.locator("li")).to_have_count(6)
    expect(options.first).to_contain_text(monday.strftime("Mon %d %b %Y, 09:00"))
    shot(page, "calendar-03-series-options")
    options.first.get_by_role("button", name="Book this option").click()
    expect(page.get_by_text("Series booked.")).to_be_visible()
    rows = page.get_by_test_id("series-row")
    expect(rows).to_have_count(6)
    third = rows.nth(2)
    third.get_by_text("Move", exact=True).click()
    week_two = monday + timedelta(days=7)
    third.get_by_label("New day").fill(week_two.isoformat())
    third.get_by_label("New time").fill("09:00")
    third.get_by_role("button", name="Preview the move").click()
    reflowed = page.get_by_test_id("reflowed").locator("li")
    expect(reflowed).to_have_count(6)
    expect(reflowed.nth(2)).to_contain_text(week_two.strftime("Mon %d %b %Y, 09:00"))
    expect(reflowed.nth(3)).to_contain_text("(was")
    shot(page, "calendar-04-move-preview")
    page.get_by_role("button", name="Confirm the move").click()
    expect(page.get_by_text("Moved; the later infusions were re-flowed")).to_be_visible()
    expect(page.get_by_test_id("series-row").nth(2)).to_contain_text(
        week_two.strftime("Mon %d %b %Y, 09:00"))
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shot(page, "calendar-05-series-phone")
    # The nurse's list for that day shows the moved infusion with its chair.
    page.goto(f"{origin}/calendar/sites/{site_id}?day={week_two.isoformat()}")
    page.goto(f"{origin}/patients/{patient_id}")
    listed = page.get_by_test_id("appointments").locator("tbody tr")
    expect(listed).to_have_count(10)  # six booked, and the four moved ones struck through
    expect(listed.filter(has_text="moved")).to_have_count(4)
    page.goto(f"{origin}/calendar/sites/{site_id}?day={week_two.isoformat()}")
    moved_here = page.get_by_test_id("appointment-row").filter(has_text="infusion 3")
    expect(moved_here).to_contain_text("booked")
    expect(moved_here).to_contain_text("Nora Quist")
    shot(page, "calendar-06-day-after-move")


def test_the_nurse_opens_the_session_from_todays_appointment(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        clinic = make_clinic(db, zone="UTC")
        patient = make_patient(db)
        course = make_course(db, patient, datetime.now(UTC).date() + timedelta(days=1))
        chair = sites.chairs(db, clinic.site.id)[1]
        db.add(Appointment(patient_id=patient.id, site_id=clinic.site.id, course_id=course.id,
                           chair_id=chair.id, kind=AppointmentKind.INFUSION, infusion_number=1,
                           minutes=120,
                           starts_at=datetime.now(UTC).replace(microsecond=0)))
        nurse, site_id = clinic.nurse.username, clinic.site.id
    sign_in(page, nurse)
    origin = "/".join(page.url.split("/")[:3])
    page.goto(f"{origin}/infusions")
    expect(page.get_by_test_id("day-row").get_by_test_id("booked")).to_contain_text(
        "Lakeside, chair 2")
    page.goto(f"{origin}/calendar/sites/{site_id}")
    row = page.get_by_test_id("appointment-row")
    row.get_by_role("button", name=re.compile("Open session")).click()
    expect(page).to_have_url(re.compile(r"/infusions/sessions/\d+$"))
    expect(page.get_by_test_id("patient-banner")).to_contain_text(patient.mrn)


def test_after_a_nurses_leave_the_front_desk_re_plans_the_week(page: Page, db_url: str
                                                               ) -> None:
    with db_session(db_url) as db:
        clinic = make_clinic(db)
        desk = make_user(db, role=Role.FRONT_DESK, full_name="Dana Reyes").username
        cover = make_user(db, role=Role.NURSE, full_name="Cora Lind")
        monday = clinic.first_monday
        sites.add_shift(db, SYSTEM, staff_user_id=cover.id, site_id=clinic.site.id, on=monday,
                        starts=time(8), ends=time(18))
        patient = make_patient(db, family_name="Arendt", given_name="Hanna")
        ask = service.SeriesAsk(patient_id=patient.id, site_id=clinic.site.id, count=1,
                                earliest_on=monday)
        service.book_series(db, SYSTEM, ask=ask, option=0,
                            version=service.propose_series(db, ask=ask).version,
                            booked_by_user_id=None)
        site_id, mrn = clinic.site.id, patient.mrn
    sign_in(page, desk)
    origin = "/".join(page.url.split("/")[:3])
    page.goto(f"{origin}/calendar/sites/{site_id}?day={monday.isoformat()}")
    expect(page.get_by_test_id("needs-replan")).to_have_count(0)
    shift = page.locator("li", has_text="Nora Quist")
    shift.get_by_text("Cancel (leave)").click()
    shift.get_by_label("Reason").fill("Off sick")
    shift.get_by_role("button", name="Cancel shift").click()
    expect(page.get_by_test_id("needs-replan")).to_contain_text("1 booked infusion on this day")
    page.get_by_role("link", name="Re-plan the week").click()
    row = page.get_by_test_id("replan-row")
    expect(row).to_contain_text("ARENDT, Hanna")
    expect(row).to_contain_text(mrn)
    expect(row).to_contain_text("its nurse is not on shift throughout")
    expect(row).to_contain_text("Nora Quist → Cora Lind")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        assert_fits(page)
        shot(page, f"calendar-04-replan-{size}")
    page.set_viewport_size(SIZES["tablet"])
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_test_id("replan-done")).to_contain_text("1 infusion(s)")
    expect(page.get_by_test_id("replan-empty")).to_be_visible()
    page.goto(f"{origin}/calendar/sites/{site_id}?day={monday.isoformat()}")
    expect(page.get_by_test_id("needs-replan")).to_have_count(0)
    expect(page.get_by_test_id("appointment-row")).to_contain_text("Cora Lind")
