"""OperationOutcome: how every error under /fhir/R4 is answered (FHIR's own problem details).

`ketaflow.web.errors` renders every refusal through `operation_outcome` when the path is under
/fhir/R4, so unknown types, unknown ids, bad parameters and refusals all answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from ketaflow.errors import FieldProblem, KetaflowError
from ketaflow.fhir.codes import Resource

FHIR_PREFIX = "/fhir/R4"

# HTTP status -> the IssueType (http://hl7.org/fhir/issue-type) that best says why.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


class InvalidSearch(KetaflowError):
    """A search parameter or value the server does not accept (400, naming the parameter)."""

    status_code = 400
    title = "Invalid search"


def is_fhir_path(path: str) -> bool:
    return path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")


def operation_outcome(status: int, detail: str, field: str | None = None,
                      problems: Sequence[FieldProblem] = ()) -> Resource:
    """One error issue, `field` (a parameter or element name) in `expression`; or, when a
    refusal lists several problems (a referral bundle's elements), one issue for each."""
    found = [(p.field, p.detail) for p in problems] if len(problems) > 1 else [(field, detail)]
    return {"resourceType": "OperationOutcome",
            "issue": [_issue(status, text, where) for where, text in found]}


def _issue(status: int, detail: str, field: str | None) -> Resource:
    issue: Resource = {
        "severity": "error" if status < 500 else "fatal",
        "code": _ISSUE_CODES.get(status, "exception" if status >= 500 else "processing"),
        "diagnostics": detail,
    }
    if field:
        issue["expression"] = [field]
    return issue
