"""Domain errors carrying their HTTP status; one handler in ketaflow.web renders them.

Messages must never include identifiable patient values: name the field and the limit instead.
"""

from __future__ import annotations


class KetaflowError(Exception):
    status_code = 400
    title = "Bad request"
    # Most refusals undo the request's changes. A few must keep what was written before the
    # refusal (e.g. a failed password check, so the throttle and the audit see it).
    keep_changes = False

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class ValidationFailed(KetaflowError):
    status_code = 422
    title = "Invalid input"


class NotFound(KetaflowError):
    status_code = 404
    title = "Not found"


class Conflict(KetaflowError):
    status_code = 409
    title = "Conflict"


class AuthenticationFailed(KetaflowError):
    status_code = 401
    title = "Authentication required"


class PermissionDenied(KetaflowError):
    status_code = 403
    title = "Forbidden"


class TooManyAttempts(KetaflowError):
    status_code = 429
    title = "Too many attempts"


class ServiceBusy(KetaflowError):
    """Too much waiting already (a bounded queue is full): try again shortly (503)."""

    status_code = 503
    title = "Busy"
