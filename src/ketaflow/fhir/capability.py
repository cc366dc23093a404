"""The CapabilityStatement, generated from the registry the routes are built from."""

from __future__ import annotations

from ketaflow import __version__
from ketaflow.db import utcnow
from ketaflow.fhir.codes import FHIR_JSON, FHIR_VERSION, Resource
from ketaflow.fhir.params import COUNT_MAX
from ketaflow.fhir.registry import TYPES, ResourceType
from ketaflow.fhir.smart.service import token_url

US_CORE_SERVER = "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server"
_SECURITY = ("Staff API tokens as bearer tokens (Authorization: Bearer kft_...), with the "
             "permissions of the token's user: front desk reads Patient, Practitioner, "
             "Organization, Location and Appointment; clinical roles read everything "
             "clinical and import referrals (a transaction Bundle POSTed to the "
             "base); admins run the bulk $export; researchers read nothing here. "
             "Registered system clients use SMART Backend Services (client_credentials, "
             "private_key_jwt signed RS384 or ES384; see .well-known/smart-configuration): "
             "system/<Type>.read or .rs (or system/*.read) reads, searches and $exports "
             "those types.")
_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
_PATIENT_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
_GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"


def capability_statement(base_url: str) -> Resource:
    base = f"{base_url.rstrip('/')}/fhir/R4"
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": utcnow().isoformat(timespec="seconds"),
        "publisher": "ketaflow",
        "kind": "instance",
        "instantiates": [US_CORE_SERVER, BULK_DATA],
        "software": {"name": "ketaflow", "version": __version__},
        "implementation": {"description": "ketaflow FHIR R4 API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read and search-type, and the referral import: a "
                             "transaction Bundle of Patient, Condition, MedicationStatement "
                             f"and AllergyIntolerance. _count is at most {COUNT_MAX}; "
                             "pages follow Bundle.link next (offset paging). Unknown "
                             "parameters are refused with 400, never ignored.",
            "security": _security(base_url),
            "resource": [_resource(kind) for kind in TYPES],
            # POST [base] with a transaction Bundle: the referral import (`fhir.referrals`).
            "interaction": [{"code": "transaction"}],
            # The Bulk Data IG's system-level export (`ketaflow.fhir.bulk`), admin only.
            "operation": [{"name": "export", "definition": _EXPORT}],
        }],
    }


def _security(base_url: str) -> Resource:
    return {
        "cors": False,
        "extension": [{"url": _OAUTH_URIS, "extension": [
            {"url": "token", "valueUri": token_url(base_url)}]}],
        "service": [{"coding": [{"system": _SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                     "text": "OAuth2 by SMART Backend Services (system clients)"}],
        "description": _SECURITY,
    }


def _resource(kind: ResourceType) -> Resource:
    entry: Resource = {
        "type": kind.name,
        "documentation": kind.documentation,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "readHistory": False,
        "searchParam": [{"name": p.name, "type": p.kind.value, "documentation": p.documentation}
                        for p in kind.search_parameters.values()],
    }
    if kind.profiles:
        entry["profile"] = kind.profiles[0]
        entry["supportedProfile"] = list(kind.profiles)
    if kind.includes:
        entry["searchInclude"] = sorted(kind.includes)
    if kind.name in ("Patient", "Group"):
        definition = _PATIENT_EXPORT if kind.name == "Patient" else _GROUP_EXPORT
        entry["operation"] = [{"name": "export", "definition": definition}]
    return entry
