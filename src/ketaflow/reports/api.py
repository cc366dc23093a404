"""The prior-authorisation packet over the JSON API, by MRN: the same JSON as
`ketaflow report prior-auth MRN --json FILE` (`ketaflow.reports.prior_auth.packet_json`), with
the packet PDF's permission, audited as the PDF is (`report.prior_auth`, format json)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.reports import service
from ketaflow.reports.prior_auth import packet_json
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/patients", tags=["reports"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


@router.get("/{mrn}/prior-auth", response_model=dict[str, Any],
            responses=problem(404, "No patient has that MRN."))
@requires(Permission.PATIENTS_CLINICAL_READ)
def prior_auth(request: Request, db: DB,
               mrn: Annotated[str, Path(max_length=64, description="The patient's MRN.")]
               ) -> dict[str, Any]:
    """The packet (`format` "ketaflow-prior-authorisation/1"): diagnosis, treatment-resistance
    history, scores, suicidality, screening, body measurements, medications, planned course
    and the clinic's service codes, with the patient's name, date of birth and MRN and who
    prepared it."""
    ctx = audit_context(request)
    patient_id = service.patient_id_for_mrn(db, mrn)
    ready = service.prepare(db, ctx, patient_id=patient_id, zone=web_forms.clinic_zone(request))
    packet = service.prior_auth_packet(db, ctx, patient_id=patient_id, formats=("json",))
    return packet_json(packet, ready.identity, clinic_name=ready.printout.clinic_name,
                       prepared_by=ready.prepared_by)
