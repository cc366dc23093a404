"""A synthetic infusion clinic for benchmarks/bench_schedule.py (and nothing else).

`clinic(seed)` returns a `ketaflow.scheduling.model.Problem`. Seeded (`random.Random(seed)`),
so one seed gives one clinic on every machine. A plausible test bed; the numbers are ours.

- **Sites** (12 chairs): A, New York, 5 chairs, Mon-Fri 08:00-18:00 and Sat 08:00-13:00;
  B, Chicago, 4 chairs, Mon-Fri 08:00-18:00; C, Los Angeles, 3 chairs, Mon-Fri 08:00-18:00.
  Nurse ratio 1:2 everywhere. Closures: Presidents' Day (2027-02-15) at every site, and one
  staff-training day at B (2027-03-03). 8 weeks from Monday 2027-02-01, so the planning days
  cross the change to daylight time (Sunday 2027-03-14).
- **Nurses** (10): A 4, B 3, C 3. Each works 4 days a week (a random weekday off, redrawn each
  week), early 08:00-16:00 or late 10:00-18:00 (half each, redrawn daily); at A the Saturday
  is covered by two nurses 08:00-13:00. **Prescribers**: one per site on every open day,
  08:00-18:00, except one random weekday a week when it is 08:00-14:00 (clinic in the
  afternoon elsewhere), so infusions that day must end by 14:00.
- **Existing bookings** at 40 % load: 120-minute infusions at random grid starts (30 min) on
  random chairs, each accepted only where the chair is free, a nurse on shift for the whole of
  it has fewer than 2 infusing, and a prescriber is on site, until booked chair time reaches 40 %
  of the open chair time. Each carries its nurse.
- **Requests** (300 patients): 70 % inductions (6 infusions of 120 min, starts >= 48 h apart,
  <= 3 per ISO week, within 21 days), 30 % maintenance (2 infusions, >= 7 days apart, 1 per
  week, within 28 days). Site by chairs (A 5/12, B 4/12, C 3/12). Earliest start: a random
  day in the first 6 weeks, arriving in that order. Preferences: 40 % name 3 weekdays (drawn
  from Mon-Fri); 30 % a time window (after 09:00 and before 15:00, or after 11:00).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from ketaflow.scheduling.model import (
    Booking,
    OpenHours,
    Problem,
    Role,
    SeriesRequest,
    Site,
    StaffShift,
)

START = date(2027, 2, 1)
DAYS = 56
GRID = 30
LOAD = 0.40


def _sites() -> tuple[Site, ...]:
    week = tuple(OpenHours(d, time(8), time(18)) for d in range(5))
    holiday = date(2027, 2, 15)
    return (Site("A", "America/New_York", 5, 2, (*week, OpenHours(5, time(8), time(13))),
                 frozenset({holiday})),
            Site("B", "America/Chicago", 4, 2, week, frozenset({holiday, date(2027, 3, 3)})),
            Site("C", "America/Los_Angeles", 3, 2, week, frozenset({holiday})))


def _shifts(rng: random.Random, sites: tuple[Site, ...]) -> list[StaffShift]:
    out: list[StaffShift] = []
    staff = {"A": ["nA1", "nA2", "nA3", "nA4"], "B": ["nB1", "nB2", "nB3"],
             "C": ["nC1", "nC2", "nC3"]}
    for site in sites:
        for week in range(DAYS // 7):
            off = {n: rng.randrange(5) for n in staff[site.id]}
            short = rng.randrange(5)
            for d in range(7):
                day = START + timedelta(days=7 * week + d)
                hours = site.hours_on(day)
                if hours is None:
                    continue
                out.append(StaffShift(f"dr{site.id}", Role.PRESCRIBER, site.id, day, hours.opens,
                                      time(14) if d == short else hours.closes))
                if d == 5:
                    out += [StaffShift(n, Role.NURSE, site.id, day, time(8), time(13))
                            for n in staff[site.id][:2]]
                    continue
                for n in staff[site.id]:
                    if off[n] != d:
                        early = rng.random() < 0.5
                        out.append(StaffShift(n, Role.NURSE, site.id, day,
                                              time(8) if early else time(10),
                                              time(16) if early else time(18)))
    return out


def _existing(rng: random.Random, sites: tuple[Site, ...],
              shifts: list[StaffShift]) -> list[Booking]:
    out: list[Booking] = []
    for site in sites:
        days = [START + timedelta(days=i) for i in range(DAYS)]
        open_minutes = sum((datetime.combine(d, h.closes) - datetime.combine(d, h.opens))
                           .seconds // 60 for d in days if (h := site.hours_on(d)))
        target = LOAD * open_minutes * site.chairs
        booked, tries = 0, 0
        while booked + 120 <= target and tries < 200_000:
            tries += 1
            day = rng.choice(days)
            hours = site.hours_on(day)
            if hours is None:
                continue
            slots = (hours.closes.hour * 60 - hours.opens.hour * 60 - 120) // GRID
            start_min = hours.opens.hour * 60 + GRID * rng.randrange(slots + 1)
            a = site.at(day, time(start_min // 60, start_min % 60))
            b = a + timedelta(minutes=120)
            chair = rng.randrange(1, site.chairs + 1)
            nurse = _admit(site, day, a, b, chair, shifts, out)
            if nurse is not None:
                out.append(Booking(f"e{site.id}{len(out)}", site.id, chair, a, 120, nurse))
                booked += 120
    return out


def _admit(site: Site, day: date, a: datetime, b: datetime, chair: int,
           shifts: list[StaffShift], booked: list[Booking]) -> str | None:
    """The nurse who can watch [a, b) at this chair, or None when the rules refuse it."""
    here = [s for s in shifts if s.site_id == site.id and s.day == day]
    if not any(s.role is Role.PRESCRIBER and site.at(day, s.starts) <= a
               and b <= site.at(day, s.ends) for s in here):
        return None
    overlapping = [x for x in booked if x.site_id == site.id and x.start < b and a < x.end]
    if any(x.chair == chair for x in overlapping):
        return None
    for s in sorted(here, key=lambda s: s.staff_id):
        if s.role is Role.NURSE and site.at(day, s.starts) <= a and b <= site.at(day, s.ends):
            watched = [x for x in overlapping if x.nurse == s.staff_id]
            if _peak(watched, a, b) < site.nurse_ratio:
                return s.staff_id
    return None


def _peak(items: list[Booking], a: datetime, b: datetime) -> int:
    instants = [a, *(x.start for x in items if a <= x.start < b)]
    return max(sum(x.start <= t < x.end for x in items) for t in instants)


def _requests(rng: random.Random, sites: tuple[Site, ...], patients: int) -> list[SeriesRequest]:
    weights = [s.chairs for s in sites]
    out = []
    for i in range(patients):
        site = rng.choices(sites, weights)[0]
        induction = rng.random() < 0.7
        days = frozenset(rng.sample(range(5), 3)) if rng.random() < 0.4 else None
        window = rng.random()
        after, before = ((time(9), time(15)) if window < 0.15 else
                         (time(11), None) if window < 0.3 else (None, None))
        first = START + timedelta(days=rng.randrange(42))
        out.append(SeriesRequest(
            patient=f"p{i}", site_id=site.id, count=6 if induction else 2, minutes=120,
            min_gap_hours=48 if induction else 168, max_per_week=3 if induction else 1,
            within_days=21 if induction else 28, days=days, after=after, before=before,
            earliest=site.at(first, time(0))))
    out.sort(key=lambda r: (r.earliest or START, r.patient))
    return out


def clinic(seed: int = 1, patients: int = 300) -> Problem:
    rng = random.Random(seed)
    sites = _sites()
    shifts = _shifts(rng, sites)
    bookings = _existing(rng, sites, shifts)
    return Problem(start=START, days=DAYS, sites=sites, shifts=tuple(shifts),
                   bookings=tuple(bookings), requests=tuple(_requests(rng, sites, patients)),
                   grid_minutes=GRID)
