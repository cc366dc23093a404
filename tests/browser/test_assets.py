"""A browser test fails when one of the app's own assets does not load, and only then."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from starlette.responses import HTMLResponse

from ketaflow.auth.permissions import public
from tests.browser.conftest import close_page, open_page

MISSING = [("/static/css/missing.css", "stylesheet"), ("/static/js/missing.js", "script"),
           ("/static/img/missing.svg", "image"), ("/infusions/assets/missing.css", "stylesheet")]


def test_a_missing_asset_fails_the_test(
    browser: Browser, live_app: FastAPI, live_server: str
) -> None:
    # A test-only page on the live app, referring to assets that do not exist.
    @live_app.get("/test-only/missing-assets")
    @public
    def missing_assets() -> HTMLResponse:
        links = {"stylesheet": '<link rel="stylesheet" href="{}">',
                 "script": '<script src="{}"></script>', "image": '<img src="{}" alt="">'}
        body = "".join(links[kind].format(path) for path, kind in MISSING)
        return HTMLResponse(f'<!doctype html><html lang="en"><title>t</title>{body}</html>')

    # The same opening and closing the `page` fixture does around every browser test.
    context, page, checks = open_page(browser, live_server)
    page.goto("/test-only/missing-assets")
    page.wait_for_load_state("load")
    with pytest.raises(AssertionError) as failure:
        close_page(context, checks)
    for path, kind in MISSING:
        assert f"404 {live_server}{path} ({kind})" in str(failure.value)


def test_a_page_answering_4xx_is_not_an_asset_failure(page: Page) -> None:
    """A failed sign-in answers 401 with the form again; its assets load, so the test passes
    (the `page` fixture fails it otherwise)."""
    page.goto("/login")
    page.get_by_label("User name").fill("nobody")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Sign-in failed", exact=False)).to_be_visible()
