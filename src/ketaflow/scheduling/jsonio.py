"""The CLI's JSON contract (issue 14 item 6): input to a `Problem`, a `Plan` to output.
Bad input raises `InputError` naming the field by its JSON path and the limit."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ketaflow.scheduling.model import (
    WEEKDAYS,
    Booking,
    OpenHours,
    Placement,
    Plan,
    Problem,
    Role,
    SeriesRequest,
    Site,
    StaffShift,
)

LOCAL = "%Y-%m-%dT%H:%M"


class InputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _obj(value: Any, where: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(where or "the input", "must be an object")
    for key in value:
        if key not in keys:
            raise InputError(f"{where}.{key}" if where else key, "unknown field")
    for key in sorted(required - set(value)):
        raise InputError(f"{where}.{key}" if where else key, "is required")
    return value


def _list(value: Any, where: str, *, empty: bool = True) -> list[Any]:
    if not isinstance(value, list) or (not empty and not value):
        raise InputError(where, "must be a list" + ("" if empty else " with at least one item"))
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InputError(where, "must be text of 1 to 64 characters")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(where, f"must be a whole number from {low} to {high}")
    return value


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InputError(where, f"must be a number from {low:g} to {high:g}")
    return float(value)


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else \
            _raise()
    except ValueError:
        raise InputError(where, "must be a date like 2027-01-04") from None


def _clock(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(value) if isinstance(value, str) and len(value) == 5 else \
            _raise()
    except ValueError:
        raise InputError(where, "must be a local time like 09:00") from None


def _raise() -> Any:
    raise ValueError


def _local(value: Any, where: str, site: Site) -> datetime:
    try:
        naive = datetime.strptime(value, LOCAL) if isinstance(value, str) else _raise()
    except ValueError:
        raise InputError(where, "must be a local date and time like 2027-01-04T09:00") from None
    aware = naive.replace(tzinfo=site.zone)
    if aware.astimezone(ZoneInfo("UTC")).astimezone(site.zone).replace(tzinfo=None) != naive:
        raise InputError(where, f"{value} does not exist in {site.timezone} (the clocks "
                                "change then)")
    return aware


def parse_problem(data: Any) -> Problem:
    top = _obj(data, "", {"start", "days", "sites", "staff", "bookings", "requests",
                          "grid_minutes"}, {"start", "days", "sites"})
    start = _date(top["start"], "start")
    days = _int(top["days"], "days", 1, 366)
    grid = top.get("grid_minutes", 30)
    if grid not in (15, 30) or isinstance(grid, bool):
        raise InputError("grid_minutes", "must be 15 or 30")
    sites = tuple(_site(s, f"sites[{i}]") for i, s in enumerate(_list(top["sites"], "sites",
                                                                        empty=False)))
    known = {}
    for i, s in enumerate(sites):
        if s.id in known:
            raise InputError(f"sites[{i}].id", f"{s.id!r} is listed twice")
        known[s.id] = s
    shifts = _staff(_list(top.get("staff", []), "staff"), known)
    nurses = {s.staff_id for s in shifts if s.role is Role.NURSE}
    bookings = tuple(_booking(b, f"bookings[{i}]", known, nurses)
                     for i, b in enumerate(_list(top.get("bookings", []), "bookings")))
    requests = tuple(_request(r, f"requests[{i}]", known)
                     for i, r in enumerate(_list(top.get("requests", []), "requests")))
    return Problem(start=start, days=days, sites=sites, shifts=shifts, bookings=bookings,
                   requests=requests, grid_minutes=grid)


def _site_of(value: Any, where: str, known: dict[str, Site]) -> Site:
    name = _text(value, where)
    if name not in known:
        raise InputError(where, f"no site {name!r} in sites")
    return known[name]


def _site(value: Any, where: str) -> Site:
    s = _obj(value, where, {"id", "timezone", "chairs", "nurse_ratio", "open", "closures"},
             {"id", "timezone", "chairs", "nurse_ratio", "open"})
    try:
        zone = ZoneInfo(_text(s["timezone"], f"{where}.timezone"))
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{where}.timezone", "must be an IANA time zone like "
                                              "America/New_York") from None
    hours = _obj(s["open"], f"{where}.open", set(WEEKDAYS), set())
    opened = []
    for day, span in hours.items():
        at = f"{where}.open.{day}"
        pair = _list(span, at)
        if len(pair) != 2:
            raise InputError(at, "must be [opens, closes] like [\"08:00\", \"18:00\"]")
        opens, closes = _clock(pair[0], at), _clock(pair[1], at)
        if closes <= opens:
            raise InputError(at, "must close after it opens")
        opened.append(OpenHours(WEEKDAYS.index(day), opens, closes))
    closures = frozenset(_date(d, f"{where}.closures[{i}]")
                         for i, d in enumerate(_list(s.get("closures", []), f"{where}.closures")))
    return Site(id=_text(s["id"], f"{where}.id"), timezone=str(zone),
                chairs=_int(s["chairs"], f"{where}.chairs", 1, 100),
                nurse_ratio=_int(s["nurse_ratio"], f"{where}.nurse_ratio", 1, 10),
                open_hours=tuple(opened), closures=closures)


def _staff(items: list[Any], known: dict[str, Site]) -> tuple[StaffShift, ...]:
    out: list[StaffShift] = []
    seen: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for i, value in enumerate(items):
        where = f"staff[{i}]"
        s = _obj(value, where, {"id", "role", "site", "shifts"}, {"id", "role", "site", "shifts"})
        who = _text(s["id"], f"{where}.id")
        if s["role"] not in ("nurse", "prescriber"):
            raise InputError(f"{where}.role", "must be nurse or prescriber")
        site = _site_of(s["site"], f"{where}.site", known)
        for j, shift in enumerate(_list(s["shifts"], f"{where}.shifts")):
            at = f"{where}.shifts[{j}]"
            f = _obj(shift, at, {"date", "start", "end"}, {"date", "start", "end"})
            day = _date(f["date"], f"{at}.date")
            starts, ends = _clock(f["start"], f"{at}.start"), _clock(f["end"], f"{at}.end")
            if ends <= starts:
                raise InputError(f"{at}.end", "must be after the shift's start")
            hours = site.hours_on(day)
            if hours is None or starts < hours.opens or ends > hours.closes:
                raise InputError(at, f"{f['date']} {f['start']}-{f['end']} is outside site "
                                     f"{site.id}'s opening hours")
            a, b = site.at(day, starts), site.at(day, ends)
            if any(a < y and x < b for x, y, _ in seen[who]):
                clash = next(w for x, y, w in seen[who] if a < y and x < b)
                raise InputError(at, f"overlaps {clash} of the same staff member {who!r}")
            seen[who].append((a, b, at))
            out.append(StaffShift(who, Role(s["role"]), site.id, day, starts, ends))
    return tuple(out)


def _booking(value: Any, where: str, known: dict[str, Site], nurses: set[str]) -> Booking:
    b = _obj(value, where, {"patient", "site", "chair", "start", "minutes", "nurse"},
             {"patient", "site", "chair", "start", "minutes"})
    site = _site_of(b["site"], f"{where}.site", known)
    nurse = b.get("nurse")
    if nurse is not None and _text(nurse, f"{where}.nurse") not in nurses:
        raise InputError(f"{where}.nurse", f"no nurse {nurse!r} in staff")
    return Booking(patient=_text(b["patient"], f"{where}.patient"), site_id=site.id,
                   chair=_int(b["chair"], f"{where}.chair", 1, site.chairs),
                   start=_local(b["start"], f"{where}.start", site),
                   minutes=_int(b["minutes"], f"{where}.minutes", 1, 720), nurse=nurse)


def _request(value: Any, where: str, known: dict[str, Site]) -> SeriesRequest:
    keys = {"patient", "site", "count", "minutes", "min_gap_hours", "max_per_week",
            "within_days", "days", "after", "before", "earliest"}
    r = _obj(value, where, keys, keys - {"days", "after", "before", "earliest"})
    site = _site_of(r["site"], f"{where}.site", known)
    days = None
    if "days" in r:
        names = _list(r["days"], f"{where}.days", empty=False)
        for i, name in enumerate(names):
            if name not in WEEKDAYS:
                raise InputError(f"{where}.days[{i}]", f"must be one of {', '.join(WEEKDAYS)}")
        days = frozenset(WEEKDAYS.index(n) for n in names)
    after = _clock(r["after"], f"{where}.after") if "after" in r else None
    before = _clock(r["before"], f"{where}.before") if "before" in r else None
    if after is not None and before is not None and before <= after:
        raise InputError(f"{where}.before", "must be later than after")
    earliest = _local(r["earliest"], f"{where}.earliest", site) if "earliest" in r else None
    return SeriesRequest(
        patient=_text(r["patient"], f"{where}.patient"), site_id=site.id,
        count=_int(r["count"], f"{where}.count", 1, 52),
        minutes=_int(r["minutes"], f"{where}.minutes", 15, 720),
        min_gap_hours=_number(r["min_gap_hours"], f"{where}.min_gap_hours", 0, 336),
        max_per_week=_int(r["max_per_week"], f"{where}.max_per_week", 1, 7),
        within_days=_int(r["within_days"], f"{where}.within_days", 1, 366),
        days=days, after=after, before=before, earliest=earliest)


def plan_json(problem: Problem, plan: Plan) -> dict[str, Any]:
    """The contract's output: every new infusion (local times) and every unplaced request."""
    def local(p: Placement, instant: datetime) -> str:
        return instant.astimezone(problem.site[p.site_id].zone).strftime(LOCAL)

    booked = sorted(plan.placements, key=lambda p: (p.site_id, p.start, p.chair))
    return {"bookings": [{"patient": p.patient, "site": p.site_id, "chair": p.chair,
                          "nurse": p.nurse, "start": local(p, p.start), "end": local(p, p.end)}
                         for p in booked],
            "unplaced": [{"patient": u.patient, "reason": u.reason} for u in plan.unplaced]}
