"""Jinja2 templates from every domain's `templates/` folder, with the shared page context."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
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
    """A stored (UTC) moment as the clinic's wall clock in `zone` (IANA name); "-" if none."""
    return "-" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime(fmt)


_env.filters["clinic_time"] = clinic_time
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
