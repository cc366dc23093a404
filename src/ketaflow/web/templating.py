"""Jinja2 templates from every domain's `templates/` folder, with the shared page context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import HTMLResponse

from ketaflow.auth.permissions import Permission, role_has
from ketaflow.web.deps import get_principal
from ketaflow.web.submissions import new_key as new_submission_key

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _template_dirs() -> list[str]:
    return [str(path) for path in sorted(PACKAGE_ROOT.glob("*/templates")) if path.is_dir()]


_env = Environment(
    loader=FileSystemLoader(_template_dirs()),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["submission_key"] = new_submission_key


def clinic_time(moment: datetime | None, zone: str, fmt: str = "%H:%M") -> str:
    """A stored (UTC) moment as the clinic's wall clock in `zone` (IANA name), with the zone's
    abbreviation ("14:05 GMT"); "-" if none."""
    if moment is None:
        return "-"
    return _in_zone(moment, zone).strftime(f"{fmt} %Z")


def clinic_date(moment: datetime | None, zone: str, fmt: str = "%Y-%m-%d") -> str:
    """The clinic's calendar day of a stored moment (23:30 UTC may be tomorrow locally)."""
    return "-" if moment is None else _in_zone(moment, zone).strftime(fmt)


def _in_zone(moment: datetime, zone: str) -> datetime:
    # A naive moment is a stored UTC one whose zone a database driver dropped.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone))


def _page_zone(context: Context) -> str:
    zone = context.get("clinic_zone")
    return zone() if callable(zone) else "UTC"


@pass_context
def local_time(context: Context, moment: datetime | None, fmt: str = "%H:%M") -> str:
    """`{{ x.signed_at|local_time }}`: a moment in the page's clinic time zone, zone stated."""
    return clinic_time(moment, _page_zone(context), fmt)


@pass_context
def local_date(context: Context, moment: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    """`{{ x.created_at|local_date }}`: the clinic's day of a moment (a date, no zone)."""
    return clinic_date(moment, _page_zone(context), fmt)


_env.filters["clinic_time"] = clinic_time
_env.filters["local_time"] = local_time
_env.filters["local_date"] = local_date
templates = Jinja2Templates(env=_env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    principal = get_principal(request)
    settings = request.app.state.settings

    def can(permission: str) -> bool:
        return (
            principal is not None
            and not principal.mfa_pending
            and role_has(principal.role, Permission(permission))
        )

    page = {
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "demo_mode": settings.mode == "demo",
        "can": can,
        "request_id": getattr(request.state, "request_id", ""),
        # Asked for only when a page shows a time (an error page may have no database).
        "clinic_zone": _zone_of(request),
    }
    page.update(context or {})
    _with_field_errors(page)
    return templates.TemplateResponse(request, name, page, status_code=status_code)


def _with_field_errors(page: dict[str, Any]) -> None:
    """Pages given one `error` (and `error_field`) show it the same way as a list of them:
    `field_errors` maps field name to message, `error_list` holds every message."""
    error = page.get("error")
    field = page.get("error_field")
    if "field_errors" not in page:
        page["field_errors"] = {field: error} if error and field else {}
    if "error_list" not in page:
        page["error_list"] = [error] if error else []


def _zone_of(request: Request) -> Callable[[], str]:
    """The clinic's time zone for this request, read once (`ketaflow.web.forms.clinic_zone`)."""

    def zone() -> str:
        cached = getattr(request.state, "clinic_zone", None)
        if cached is None:
            from ketaflow.web.forms import clinic_zone

            cached = clinic_zone(request)
            request.state.clinic_zone = cached
        return str(cached)

    return zone
