"""The outcomes dashboard's numbers over the JSON API: the payload `ketaflow outcomes --format
json` prints (`ketaflow.outcomes.payload`), for the same filters, with the page's permission
and the page's small-cell rule for the researcher role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires, role_has
from ketaflow.outcomes import forms, service
from ketaflow.outcomes.forms import NO_SITE
from ketaflow.outcomes.payload import dashboard_json
from ketaflow.patients.diagnosis_codes import BipolarType
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/outcomes", tags=["outcomes"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
# The query is read as text and parsed by the dashboard's own filter parser, so a bad value
# is the parser's 422 naming the field, as on the page, not FastAPI's generic refusal; the
# schema below states the shapes it accepts.
_ID_PATTERN = "^[0-9]{1,9}$"


@router.get("", response_model=dict[str, Any], responses={
    **problem(422, "A filter is refused (`field` names the first, `detail` every one): a "
                   "date that is not YYYY-MM-DD, a site or prescriber that is not an id or "
                   "names none, an unknown type, To before From.")})
@requires(Permission.OUTCOMES_VIEW)
def outcomes(
    request: Request, db: DB,
    start: Annotated[str, Query(alias="from", max_length=40, json_schema_extra={
        "format": "date", "description": "First course start day (YYYY-MM-DD)."})] = "",
    to: Annotated[str, Query(max_length=40, json_schema_extra={
        "format": "date", "description": "Last course start day (YYYY-MM-DD)."})] = "",
    site: Annotated[str, Query(max_length=40, json_schema_extra={
        "pattern": f"^([0-9]{{1,9}}|{NO_SITE})$",
        "description": f"A site id, or `{NO_SITE}` for courses with no site."})] = "",
    type: Annotated[str, Query(max_length=40, json_schema_extra={
        "enum": [t.value for t in BipolarType], "description": "Bipolar type."})] = "",
    prescriber: Annotated[str, Query(max_length=40, json_schema_extra={
        "pattern": _ID_PATTERN, "description": "A prescriber's staff id."})] = "",
) -> dict[str, Any]:
    """The dashboard's figures for courses started in the period (default: all), as
    `ketaflow outcomes --format json` prints them (keys: docs/outcomes.md). A role without
    `outcomes:small-cells` (the researcher) gets counts below the clinic's minimum as "<11"
    and their rates as null, as on the page."""
    filters = forms.parse_filters(db, {"from": start, "to": to, "site": site, "type": type,
                                     "prescriber": prescriber})
    board = service.outcome_dashboard(
        db, audit_context(request), filters=filters,
        small_cells=role_has(require_principal(request).role, Permission.OUTCOMES_SMALL_CELLS))
    return dashboard_json(board)
