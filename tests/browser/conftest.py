"""Real-browser fixtures: the app served by uvicorn on a free port, driven by Debian's Chromium.

Playwright's own browser download cannot work on these machines, so Debian's `chromium` is
launched through `executable_path`. A missing Chromium fails the suite rather than skipping.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Request as PlaywrightRequest
from playwright.sync_api import Response as PlaywrightResponse
from sqlalchemy.orm import Session

from ketaflow.config import Settings
from ketaflow.db import make_engine, make_session_factory
from ketaflow.web.app import create_app
from tests.conftest import ARTIFACTS
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.live import serve

SCREENSHOTS = ARTIFACTS / "screenshots"
# Resource types that are assets whatever their path, and paths that hold assets however they
# are fetched (fetch/XHR included): the app's static files and the domains' own stylesheets.
ASSET_TYPES = frozenset({"stylesheet", "script", "image", "font", "media", "manifest", "texttrack"})
ASSET_PATHS = re.compile(r"^(/static/|/[a-z-]+/assets/)")
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
# The two sizes the chair-side flows are tried at (a nurse's tablet and a phone).
SIZES = {"tablet": TABLET, "phone": PHONE}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (.ci/run installs it)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_app(settings: Settings) -> FastAPI:
    """The app `live_server` serves (a test may add a route to it)."""
    return create_app(settings)


@pytest.fixture
def live_server(live_app: FastAPI) -> Iterator[str]:
    """The real app over real HTTP on 127.0.0.1 (a secure context, so Secure cookies work)."""
    with serve(live_app) as origin:
        yield origin


@dataclass
class PageChecks:
    """What fails a browser test besides its own assertions, collected while its page is open."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    asset_failures: list[str] = field(default_factory=list)  # "STATUS URL (resource type)"
    aborted_assets: list[tuple[str, str]] = field(default_factory=list)

    def own_asset(self, url: str, resource_type: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin and (
            resource_type in ASSET_TYPES or bool(ASSET_PATHS.match(parts.path)))

    def on_console(self, msg: ConsoleMessage) -> None:
        # The browser logs every 4xx page load; those are expected (422 form errors, 401, 403).
        if msg.type == "error" and "responded with a status of 4" not in msg.text:
            self.console_errors.append(msg.text)

    def on_response(self, response: PlaywrightResponse) -> None:
        # Pages and form posts may answer 4xx; an asset never may: a missing stylesheet or
        # script breaks the page without any other sign.
        if response.status >= 400 and self.own_asset(response.url, response.request.resource_type):
            self.asset_failures.append(
                f"{response.status} {response.url} ({response.request.resource_type})")

    def on_request_failed(self, request: PlaywrightRequest) -> None:
        # Chromium drops a stylesheet served as HTML (the 404 page) before any response event;
        # a navigation also aborts loads in flight. Which of the two it was is asked at the end.
        if self.own_asset(request.url, request.resource_type):
            self.aborted_assets.append((request.url, request.resource_type))

    def settle(self, api: APIRequestContext) -> None:
        """Ask the server again for each aborted asset: only a real failure is kept."""
        for url, resource_type in self.aborted_assets:
            status = api.get(url).status
            if status >= 400:
                self.asset_failures.append(f"{status} {url} ({resource_type})")
        self.aborted_assets.clear()


def open_page(browser: Browser, origin: str) -> tuple[BrowserContext, Page, PageChecks]:
    context = browser.new_context(viewport=TABLET, base_url=origin)
    page = context.new_page()
    checks = PageChecks(origin)
    page.on("console", checks.on_console)
    page.on("response", checks.on_response)
    page.on("requestfailed", checks.on_request_failed)
    return context, page, checks


def close_page(context: BrowserContext, checks: PageChecks) -> None:
    """Close the page; fail on an asset of the app's own that did not load, or a console error
    (a CSP violation or script error shows up as one)."""
    checks.settle(context.request)
    context.close()
    assert not checks.asset_failures, f"the app's assets failed to load: {checks.asset_failures}"
    assert not checks.console_errors, f"browser console errors: {checks.console_errors}"


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    context, page, checks = open_page(browser, live_server)
    yield page
    close_page(context, checks)


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits(page: Page) -> None:
    """The page does not scroll sideways at its current viewport width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    limit = viewport["width"]
    assert width <= limit, f"the page scrolls sideways ({width}px > {limit}px)"


@contextmanager
def db_session(db_url: str) -> Iterator[Session]:
    """A session of its own on the served database, committed at the end (arranging data
    while the app runs in another thread)."""
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    finally:
        session.close()
        engine.dispose()


def sign_in(page: Page, username: str, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in through the form and wait for the signed-in header."""
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
