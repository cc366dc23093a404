"""The patient page's "Messages" section: what the outbox holds for the patient and how its
delivery went (purpose, times, state; never the address or the text)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.jobs import service
from ketaflow.jobs.models import Channel
from ketaflow.patients import sections
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]

# Loaded by HTMX from the `_list` fragment; as readable as the patient page itself.
sections.register_section("jobs/_patient_section.html", Permission.PATIENTS_DEMOGRAPHICS,
                          order=90)
RECENT = 20


@router.get("/patients/{patient_id}/messages/_list")
@requires(Permission.PATIENTS_DEMOGRAPHICS)
def messages_fragment(request: Request, db: DB, patient_id: int) -> Response:
    messages = service.read_patient_messages(db, audit_context(request), patient_id=patient_id,
                                             limit=RECENT)
    configured: frozenset[Channel] = request.app.state.outbox.configured_channels
    return render(request, "jobs/_messages.html",
                  {"messages": messages, "configured": configured,
                   "describe": service.describe_failure})
