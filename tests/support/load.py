"""A storm of concurrent clients against running `ketaflow serve` processes, shared by
tests/web/test_storm.py (bounded) and benchmarks/bench_storm.py (bigger, with figures); the
seeding, the vitals posts and the exactly-once count serve the crash scenario too.

Who the clients are, all at once, each sending its next request as soon as it has an answer:
patients' phones opening portal links (made-up tokens and one real link), people guessing
passwords (the sign-in page for its CSRF token, then a wrong password), staff loading pages
(the patient list and a patient's record) and monitor gateways posting vitals through the API
with an Idempotency-Key each. Every vitals post carries its own reading time, unique to its
key, so the rows stored for each key can be counted in the database afterwards.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy
from itertools import count

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow import migrate
from ketaflow.audit.keys import session_info
from ketaflow.auth import service as auth_service
from ketaflow.config import Role, load_settings
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.infusions import service
from ketaflow.infusions.models import VitalsRecord
from ketaflow.infusions.rules import SessionAction, VitalsReading
from ketaflow.infusions.service._common import clock_at
from ketaflow.portal import service as portal
from ketaflow.web.guard import cookie_names
from tests.infusions.factories import (
    ALL_CHECKS,
    Clinic,
    make_clinic,
    make_course,
    order_input,
)
from tests.infusions.factories import self_report as rate_self_report
from tests.patients.factories import make_patient
from tests.support.factories import DEFAULT_PASSWORD, SYSTEM, make_user
from tests.support.servers import AUDIT_KEY

SESSION_COOKIE, CSRF_COOKIE = cookie_names(secure=False)  # servers run on plain http
REQUEST_TIMEOUT_S = 60.0  # beyond the 10 s queue bound: a request without answer is a hang
STORM_TIMEOUT_S = 600.0  # the whole storm; a hang fails the run instead of blocking it
SIGNED_IN_SESSIONS = 4
# One client's requests in turn (a sign-in is two requests: the page, then the wrong password).
MIX = ("vitals", "portal unknown", "vitals", "patients", "sign-in", "vitals", "portal link",
       "portal unknown", "vitals", "patient page")
# What each kind of request may be answered, besides 503 with Retry-After (overload).
EXPECTED = {"vitals": {201}, "portal unknown": {404}, "portal link": {200},
            "sign-in page": {200}, "sign-in failed": {401, 429}, "patients": {200},
            "patient page": {200}}


# ---------------------------------------------------------------- the clinic's data


@dataclass(frozen=True)
class Seed:
    api_token: str  # a nurse's, as a monitor gateway holds one
    session_ids: tuple[int, ...]  # running infusions
    patient_ids: tuple[int, ...]  # registered with demographics, for their record's page
    nurse: str  # signs in for page loads (password DEFAULT_PASSWORD)
    decoy: str  # an account whose password is guessed wrongly
    portal_token: str
    readings_from: datetime  # every reading posted is after this (the sessions' start)


def seed(url: str, *, sessions: int = 16) -> Seed:
    """A nurse, running infusions on `sessions` patients, an API token and a portal link.
    The sessions were opened six hours ago, so readings can be dated back to then."""
    migrate.upgrade(url)
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    engine = make_engine(url)
    factory = make_session_factory(engine, info=session_info(AUDIT_KEY.encode()))
    try:
        with transaction(factory) as db, clock_at(opened):
            clinic = make_clinic(db)
            decoy = make_user(db, role=Role.NURSE)
            token, _ = auth_service.create_api_token(db, SYSTEM, user=clinic.nurse,
                                                     name="monitor gateway", days=2)
            started = [_running_session(db, clinic, opened) for _ in range(sessions)]
            patients = [make_patient(db).id for _ in range(4)]
            settings = load_settings(public_base_url="http://127.0.0.1")
            link = portal.issue_portal_link(
                db, clinic.nurse_ctx, settings, patient_id=patients[0], instruments=["phq9"],
                created_by_user_id=clinic.nurse.id, send_mail=False)
            names = clinic.nurse.username, decoy.username
    finally:
        engine.dispose()
    return Seed(token, tuple(started), tuple(patients), *names, link.url.rsplit("/", 1)[1],
                opened + timedelta(minutes=1))


def _running_session(db: Session, clinic: Clinic, opened: datetime) -> int:
    """An infusion started at `opened`, pre-checks all done."""
    course = make_course(db, clinic, order_lot=True)
    nurse, prescriber = clinic.nurse_ctx, clinic.prescriber_ctx
    rate_self_report(db, course.patient_id, rated_at=opened)
    record = service.open_session(db, nurse, course_id=course.id)
    service.apply_action(db, nurse, session_id=record.id, action=SessionAction.BEGIN_PRECHECKS)
    service.update_prechecks(db, nurse, session_id=record.id, changes=ALL_CHECKS)
    service.record_vitals(db, nurse, session_id=record.id, reading=VitalsReading(
        opened, sbp_mmhg=122, dbp_mmhg=78, hr_bpm=72, spo2_percent=98))
    service.sign_order(db, prescriber, session_id=record.id, order=order_input())
    service.apply_action(db, nurse, session_id=record.id, action=SessionAction.START)
    return record.id


# ---------------------------------------------------------------- vitals posts, one per key


@dataclass(frozen=True)
class VitalsPost:
    """One reading as a gateway posts it; retries send exactly the same."""

    key: str
    session_id: int
    taken_at: datetime  # unique per key: how the stored rows are matched to their key

    @property
    def path(self) -> str:
        return f"/api/v1/infusions/sessions/{self.session_id}/vitals"

    def body(self) -> dict[str, object]:
        return {"taken_at": self.taken_at.isoformat(), "sbp_mmhg": 124, "dbp_mmhg": 80,
                "hr_bpm": 74, "spo2_percent": 98, "rr_per_min": 14, "rass": 0}

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Idempotency-Key": self.key}


class VitalsKeys:
    """Fresh posts, one millisecond of reading time apart, spread over the seeded sessions."""

    def __init__(self, seed: Seed, label: str) -> None:
        self._seed, self._label = seed, label
        self._next = count()

    def __next__(self) -> VitalsPost:
        n = next(self._next)
        return VitalsPost(f"{self._label}-{n}", self._seed.session_ids[n % len(
            self._seed.session_ids)], self._seed.readings_from + timedelta(milliseconds=n))

    def __iter__(self) -> Iterator[VitalsPost]:
        return self


@dataclass(frozen=True)
class ExactlyOnce:
    posted: int
    acknowledged: int
    lost: int  # acknowledged (201) but not stored
    duplicated: int  # stored more than once for one key
    stored_unacknowledged: int  # stored once without a 201 (allowed: the answer was lost)

    def line(self) -> str:
        return (f"{self.acknowledged} acknowledged of {self.posted} posted: {self.lost} lost, "
                f"{self.duplicated} duplicated ({self.stored_unacknowledged} stored without an "
                "acknowledgement)")


def exactly_once(url: str, posted: list[VitalsPost], acknowledged: set[str]) -> ExactlyOnce:
    """Count the stored rows of each posted key (matched by session and reading time)."""
    engine = make_engine(url)
    sessions = {post.session_id for post in posted}
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(VitalsRecord.session_id, VitalsRecord.taken_at)
                                      .where(VitalsRecord.session_id.in_(sessions))).all()
    finally:
        engine.dispose()
    # UTCDateTime gives aware UTC times on both databases, so they compare with the posts'.
    stored = Counter((session_id, taken_at) for session_id, taken_at in rows)
    per_key = {post.key: stored[(post.session_id, post.taken_at)] for post in posted}
    return ExactlyOnce(
        len(posted), len(acknowledged), sum(per_key[key] == 0 for key in acknowledged),
        sum(n > 1 for n in per_key.values()),
        sum(n == 1 for key, n in per_key.items() if key not in acknowledged))


# ---------------------------------------------------------------- the storm


@dataclass(frozen=True)
class Answer:
    kind: str
    status: int | None  # None: no answer (the error's name is in `error`)
    started: float
    latency_s: float
    retry_after: bool = False
    error: str = ""


@dataclass
class StormResult:
    answers: list[Answer] = field(default_factory=list)
    posted: list[VitalsPost] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def peak_in_flight(self) -> int:
        """The most requests waiting for their answers at one moment."""
        edges = sorted([(a.started, 1) for a in self.answers]
                       + [(a.started + a.latency_s, -1) for a in self.answers])
        level = peak = 0
        for _, step in edges:
            level += step
            peak = max(peak, level)
        return peak


def no_cookie_jar() -> CookieJar:
    """Clients here send their cookies by hand (each sign-in flow its own), so the shared
    client must keep none from answers."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def sign_in(base: str, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """A staff sign-in as a browser does it; the session cookie's value."""
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        page = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, f"no CSRF token on the sign-in page ({page.status_code})"
        signed = client.post("/login", headers={"Origin": base}, data={
            "username": username, "password": password, "next": "/",
            "csrf_token": found.group(1)})
        assert signed.status_code == 303, f"sign-in failed: {signed.status_code}"
        return signed.cookies[SESSION_COOKIE]


class Storm:
    """`clients` clients at once, each sending `rounds` requests (of MIX, in turn) one after
    another, spread over `bases` (several servers sharing one database)."""

    def __init__(self, bases: list[str], data: Seed, *, clients: int, rounds: int,
                 label: str = "storm") -> None:
        self.bases, self.data, self.clients, self.rounds = bases, data, clients, rounds
        self.keys = VitalsKeys(data, label)
        self.result = StormResult()
        # Signed in beforehand, on each server in turn: a session works on every server.
        self.cookies = [sign_in(bases[i % len(bases)], data.nurse)
                        for i in range(SIGNED_IN_SESSIONS)]

    async def run(self) -> StormResult:
        # A new connection for every request, as from many phones and browsers. Reused ones
        # race the server's 5 s idle timeout: a request sent on a connection the server is
        # closing gets a reset, and with this process and the server sharing two cores the
        # client's own lag (seconds at times) made such races frequent.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits,
                                     cookies=no_cookie_jar()) as client:
            await asyncio.wait_for(asyncio.gather(
                *(self._client(client, n) for n in range(self.clients))), STORM_TIMEOUT_S)
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _client(self, client: httpx.AsyncClient, n: int) -> None:
        for turn in range(self.rounds):
            kind = MIX[(n + turn) % len(MIX)]
            base = self.bases[(n + turn) % len(self.bases)]
            await self._one(client, kind, base, n + turn)

    async def _one(self, client: httpx.AsyncClient, kind: str, base: str, n: int) -> None:
        cookie = {"Cookie": f"{SESSION_COOKIE}={self.cookies[n % len(self.cookies)]}"}
        patient = self.data.patient_ids[n % len(self.data.patient_ids)]
        if kind == "vitals":
            await self._vitals(client, base)
        elif kind == "sign-in":
            await self._failed_sign_in(client, base, n)
        elif kind == "portal unknown":
            await self._request(client, kind, "GET", f"{base}/portal/{secrets.token_urlsafe(32)}")
        elif kind == "portal link":
            await self._request(client, kind, "GET", f"{base}/portal/{self.data.portal_token}")
        elif kind == "patients":
            await self._request(client, kind, "GET", f"{base}/patients", headers=cookie)
        else:
            await self._request(client, kind, "GET", f"{base}/patients/{patient}",
                                headers=cookie)

    async def _vitals(self, client: httpx.AsyncClient, base: str) -> None:
        post = next(self.keys)
        self.result.posted.append(post)
        response = await self._request(client, "vitals", "POST", base + post.path,
                                       json=post.body(),
                                       headers=post.headers(self.data.api_token))
        if response is not None and response.status_code == 201:
            self.result.acknowledged.add(post.key)

    async def _failed_sign_in(self, client: httpx.AsyncClient, base: str, n: int) -> None:
        """The page (its CSRF token and cookie), then a wrong password, posted to the next
        server: made-up names and, every other time, the decoy account (soon throttled)."""
        page = await self._request(client, "sign-in page", "GET", f"{base}/login")
        if page is None or page.status_code != 200:
            return
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        csrf_cookie = page.cookies.get(CSRF_COOKIE)
        assert found and csrf_cookie, "the sign-in page gave no CSRF token"
        target = self.bases[(self.bases.index(base) + 1) % len(self.bases)]
        username = self.data.decoy if n // len(MIX) % 2 else f"nobody{n}"
        await self._request(client, "sign-in failed", "POST", f"{target}/login",
                            headers={"Origin": target, "Cookie": f"{CSRF_COOKIE}={csrf_cookie}"},
                            data={"username": username, "password": "wrong-password-123",
                                  "next": "/", "csrf_token": found.group(1)})

    async def _request(self, client: httpx.AsyncClient, kind: str, method: str, url: str,
                       **kwargs: object) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            self.result.answers.append(Answer(kind, None, started, time.monotonic() - started,
                                              error=type(error).__name__))
            return None
        self.result.answers.append(Answer(kind, response.status_code, started,
                                          time.monotonic() - started,
                                          "retry-after" in response.headers))
        return response


# ---------------------------------------------------------------- judging and printing


def unexpected(answers: list[Answer]) -> list[str]:
    """Answers the requirements forbid: none at all, a 5xx other than 503 with Retry-After,
    or a status the request's kind never gets (EXPECTED)."""
    found: Counter[str] = Counter()
    for a in answers:
        if a.status is None:
            found[f"{a.kind}: no answer ({a.error})"] += 1
        elif a.status == 503 and not a.retry_after:
            found[f"{a.kind}: 503 without Retry-After"] += 1
        elif a.status != 503 and a.status not in EXPECTED[a.kind]:
            found[f"{a.kind}: {a.status}"] += 1
    return [f"{what} x{n}" for what, n in sorted(found.items())]


def kinds_never_served(answers: list[Answer]) -> list[str]:
    """Kinds of request that never got their success answer (all refused as overload)."""
    served = {a.kind for a in answers if a.status in EXPECTED[a.kind]}
    return sorted(set(EXPECTED) - served)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summary(result: StormResult) -> list[str]:
    """One line per kind: how many, each status, latency percentiles of the answered ones."""
    by_kind: dict[str, list[Answer]] = defaultdict(list)
    for answer in result.answers:
        by_kind[answer.kind].append(answer)
    lines = [f"{len(result.answers)} requests in {result.seconds:.1f} s "
             f"({len(result.answers) / max(result.seconds, 1e-9):.0f}/s), at most "
             f"{result.peak_in_flight()} at once"]
    for kind in EXPECTED:
        answers = by_kind.get(kind, [])
        if not answers:
            continue
        statuses = Counter(str(a.status or a.error) for a in answers)
        shown = ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))
        times = [a.latency_s * 1000 for a in answers if a.status is not None] or [0.0]
        lines.append(f"  {kind:15} {len(answers):6}  {shown:34} p50 {percentile(times, 50):6.0f}"
                     f"  p95 {percentile(times, 95):6.0f}  p99 {percentile(times, 99):6.0f}"
                     f"  max {max(times):6.0f} ms")
    return lines
