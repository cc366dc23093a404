"""Exception handlers: RFC 9457 problem details for the API, pages for people, never a trace.

The route's worker thread has already rolled its transaction back (`ketaflow.web.routing`).
Refusals are audited through the server's audit buffer (`ketaflow.audit.buffer`): anyone can
cause them by the thousand, and they must not flood the trail or queue for the database.
A database that is saturated (no connection free in time, SQLite busy) answers 503 with
Retry-After, so clients back off rather than see a failure.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from ketaflow.audit.buffer import AuditBuffer
from ketaflow.audit.service import EventSpec, Outcome
from ketaflow.db import database_busy
from ketaflow.errors import AuthenticationFailed, FieldProblem, KetaflowError, ValidationFailed
from ketaflow.fhir.codes import FHIR_JSON
from ketaflow.fhir.outcome import is_fhir_path, operation_outcome
from ketaflow.web.deps import audit_context
from ketaflow.web.guard import MfaPending, is_api_path
from ketaflow.web.templating import render

log = logging.getLogger("ketaflow.web")

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Busy",
}
RETRY_AFTER_S = 2
_NOT_AUDITED = frozenset({404, 405})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KetaflowError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(MfaPending, _mfa_pending)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)


async def _domain_error(request: Request, exc: KetaflowError) -> Response:
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    if isinstance(exc, ValidationFailed):
        # RFC 9457 extension member: every field refused, not only the first.
        extra["errors"] = [{"field": p.field or "body", "detail": p.detail,
                            "message": p.detail} for p in exc.problems]
    if isinstance(exc, AuthenticationFailed) and not is_api_path(request.url.path):
        await _abandon(request, exc.status_code, type(exc).__name__)
        expired = "&expired=1" if getattr(request.state, "session_expired", False) else ""
        return _redirect(request, f"/login?next={_safe_next(request)}{expired}")
    return await _respond(
        request, exc.status_code, exc.detail, type(exc).__name__, extra, title=exc.title,
        abandon=not exc.keep_changes,
        retry_after=RETRY_AFTER_S if exc.status_code == 503 else None, problems=exc.problems,
    )


async def _mfa_pending(request: Request, exc: MfaPending) -> Response:
    await _abandon(request, 401, None)
    return _redirect(request, "/mfa/enrol" if exc.enrol else "/mfa")


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return await _respond(request, 400, "the request body is not valid JSON", "json_invalid")
    # Only locations and messages: the submitted values may hold patient data.
    # `detail` as in the services' refusals; `message` kept for clients that read it.
    fields = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body",
            "detail": e.get("msg", "invalid"),
            "message": e.get("msg", "invalid"),
        }
        for e in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    # `field` names the input refused, as the services' refusals do (the first, top level).
    first = [str(p) for p in errors[0].get("loc", ())[1:2]] if errors else []
    return await _respond(request, 422, detail, "validation",
                          {"field": first[0] if first else "body", "errors": fields})


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return await _respond(request, exc.status_code, detail, "http")


async def _busy(request: Request, exc: Exception) -> Response:
    log.warning("no database connection free in time (request %s)",
                getattr(request.state, "request_id", "?"))
    return await _respond(request, 503, "The server is busy; please try again in a moment.",
                          None, retry_after=RETRY_AFTER_S)


async def _database_error(request: Request, exc: Exception) -> Response:
    # SQLite's busy timeout and PostgreSQL's lock timeout end a wait that would otherwise
    # last; both mean "try again", as does a lost connection. Anything else is unexpected.
    if database_busy(exc):
        return await _busy(request, exc)
    return await _unexpected(request, exc)


async def _out_of_range(request: Request, exc: Exception) -> Response:
    """A value the database cannot store (a number beyond its column's range)."""
    return await _respond(request, 422, "a value is outside the range this field can hold",
                          "out_of_range")


def trace_without_values(exc: BaseException) -> str:
    """Where an error was raised, and its type, but none of its messages.

    A database error's message quotes the values that broke a constraint (PostgreSQL's
    "DETAIL: Key (mrn)=(...) already exists"), and any exception may carry a patient value in
    its text. The frames (file, line, code) and the chain of exception types are enough to find
    the fault; the values stay out of the log.
    """
    lines: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        lines.append(f"{type(current).__module__}.{type(current).__qualname__}")
        lines.extend(traceback.format_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("raised while handling:")
    return "\n".join(line.rstrip("\n") for line in lines)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error (request %s): %s", getattr(request.state, "request_id", "?"),
              trace_without_values(exc))
    return await _respond(
        request,
        500,
        "An unexpected error occurred. Nothing was saved. "
        "Quote the request id to your administrator.",
        "unexpected",
    )


async def _respond(
    request: Request,
    status: int,
    detail: str,
    kind: str | None,
    extra: dict[str, Any] | None = None,
    *,
    title: str | None = None,
    abandon: bool = True,
    retry_after: int | None = None,
    problems: Sequence[FieldProblem] = (),
) -> Response:
    if abandon:
        await _abandon(request, status, kind)
    title = title or _TITLES.get(status, "Error")
    request_id = getattr(request.state, "request_id", "")
    if is_fhir_path(request.url.path):
        outcome = operation_outcome(status, detail, (extra or {}).get("field"), problems)
        return JSONResponse(outcome, status_code=status, media_type=FHIR_JSON,
                            headers=_headers(status, retry_after))
    if request.url.path.startswith("/api/"):
        body = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            "request_id": request_id,
            **(extra or {}),
        }
        return JSONResponse(body, status_code=status, media_type="application/problem+json",
                            headers=_headers(status, retry_after))
    page = render(request, "error.html", {"title": title, "detail": detail, "status": status},
                  status_code=status)
    page.headers.update(_headers(status, retry_after))
    return page


def _headers(status: int, retry_after: int | None) -> dict[str, str]:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return headers


async def _abandon(request: Request, status: int, kind: str | None) -> None:
    """Audit the refusal (through the buffer: no database work on this path)."""
    db = getattr(request.state, "db", None)
    if db is not None:  # opened by a dependency but never connected: nothing to undo
        request.state.db = None
        db.close()
    if status in _NOT_AUDITED or status >= 500 or kind is None:
        return
    outcome = Outcome.DENIED if status in (401, 403, 429) else Outcome.FAILURE
    # The route's template and its ids, not the path itself: a portal path holds a token.
    ids = {k: str(v) for k, v in request.path_params.items() if k.endswith("_id")}
    detail = {"status": status, "kind": kind, "method": request.method,
              "path": route_template(request), **({"ids": ids} if ids else {})}
    buffer: AuditBuffer = request.app.state.audit_buffer
    buffer.add(EventSpec(audit_context(request), "request.refused", "request",
                         outcome=outcome, detail=detail))


def route_template(request: Request) -> str:
    """The matched route's full path template (with its router's prefix), e.g.
    /api/v1/patients/{patient_id}. FastAPI keeps the prefixed form in the route context of
    routers it included; the route itself knows only its own part."""
    context = request.scope.get("fastapi", {}).get("effective_route_context")
    route = request.scope.get("route")
    return str(getattr(context, "path", None) or getattr(route, "path", None) or "unmatched")


def _safe_next(request: Request) -> str:
    target = request.url.path if request.method == "GET" else "/"
    return quote(target if target.startswith("/") and not target.startswith("//") else "/")


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
