"""FHIR R4 routes under /fhir/R4: the CapabilityStatement, read and search for each type in
the registry, each route declaring its type's permission (staff tokens) and the system scope
it needs (SMART system tokens, `ketaflow.fhir.smart`), and the referral import (a transaction
Bundle POSTed to the base). Errors are OperationOutcomes
(`ketaflow.web.errors` renders them for every path under /fhir/R4)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from ketaflow.auth.permissions import Permission, public, requires
from ketaflow.clinic.service import effective_timezone
from ketaflow.config import Settings
from ketaflow.errors import NotFound
from ketaflow.fhir import service
from ketaflow.fhir.capability import capability_statement
from ketaflow.fhir.codes import FHIR_JSON
from ketaflow.fhir.outcome import FHIR_PREFIX
from ketaflow.fhir.referrals.bundle import MAX_BUNDLE_BYTES, BundleTooLarge, NotJson
from ketaflow.fhir.referrals.service import import_bundle
from ketaflow.fhir.registry import TYPES, ResourceType
from ketaflow.fhir.smart.scopes import Interaction, system_access
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute

# Not in /api/v1/openapi.json: that document is the JSON API's contract (problem details under
# /api/v1); FHIR's contract is the CapabilityStatement at /fhir/R4/metadata.
router = APIRouter(tags=["fhir"], route_class=UnitOfWorkRoute, include_in_schema=False)
DB = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
# FHIR's id type: up to 64 letters, digits, '-' and '.'.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


@router.get(f"{FHIR_PREFIX}/metadata", response_class=FhirResponse)
@public
def metadata(settings: AppSettings) -> FhirResponse:
    """What this server supports: generated from the same registry as the routes."""
    return FhirResponse(capability_statement(settings.public_base_url))


async def _bundle_body(request: Request) -> bytes:
    """The body, read here (before the route's worker thread) and refused past the limit
    without reading the rest."""
    if "json" not in request.headers.get("content-type", ""):
        raise NotJson("send the bundle as application/fhir+json", field="Bundle")
    declared = request.headers.get("content-length", "")
    too_large = BundleTooLarge(f"a referral bundle may be at most {MAX_BUNDLE_BYTES:,} bytes",
                               field="Bundle")
    if declared.isdigit() and int(declared) > MAX_BUNDLE_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BUNDLE_BYTES:
            raise too_large
    return bytes(body)


@router.post(FHIR_PREFIX, response_class=FhirResponse)
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def transaction(request: Request, db: DB,
                body: Annotated[bytes, Depends(_bundle_body)]) -> FhirResponse:
    """Import a referral: a transaction Bundle of Patient, Condition, MedicationStatement and
    AllergyIntolerance entries, all recorded or none (docs/fhir.md, "Referral import")."""
    return FhirResponse(import_bundle(db, audit_context(request), body=body))


def _search_route(kind: ResourceType) -> Callable[..., FhirResponse]:
    @requires(kind.permission)
    @system_access(kind.name, Interaction.SEARCH)
    def search(request: Request, db: DB, settings: AppSettings) -> FhirResponse:
        bundle = service.search_type(
            db, audit_context(request), type_name=kind.name,
            query=request.query_params.multi_items(), base_url=settings.public_base_url,
            zone=effective_timezone(db, settings))
        return FhirResponse(bundle)

    search.__name__ = f"search_{kind.name.lower()}"
    search.__doc__ = f"Search {kind.name} (a searchset Bundle). {kind.documentation}"
    return search


def _read_route(kind: ResourceType) -> Callable[..., FhirResponse]:
    @requires(kind.permission)
    @system_access(kind.name, Interaction.READ)
    def read(request: Request, db: DB, resource_id: str) -> FhirResponse:
        if not _FHIR_ID.fullmatch(resource_id):
            raise NotFound(f"no {kind.name} with this id", field="id")
        return FhirResponse(service.read(db, audit_context(request), type_name=kind.name,
                                         resource_id=resource_id))

    read.__name__ = f"read_{kind.name.lower()}"
    read.__doc__ = f"Read one {kind.name}. {kind.documentation}"
    return read


for _kind in TYPES:
    router.add_api_route(f"{FHIR_PREFIX}/{_kind.name}", _search_route(_kind), methods=["GET"],
                         response_class=FhirResponse)
    router.add_api_route(f"{FHIR_PREFIX}/{_kind.name}/{{resource_id}}", _read_route(_kind),
                         methods=["GET"], response_class=FhirResponse)


# Last, after every served type: any other type is answered, to anyone, with a 404 that says
# which types are served (a probe learns nothing the CapabilityStatement does not say).
@router.get(f"{FHIR_PREFIX}/{{type_name}}")
@public
def unknown_type(type_name: str) -> FhirResponse:
    service.resource_type(type_name)
    raise AssertionError("every served type has its own route")


@router.get(f"{FHIR_PREFIX}/{{type_name}}/{{resource_id}}")
@public
def unknown_type_read(type_name: str, resource_id: str) -> FhirResponse:
    service.resource_type(type_name)
    raise AssertionError("every served type has its own route")
