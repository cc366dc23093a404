"""A referral Bundle parsed and checked as a transaction, before anything is looked up.

Every resource is parsed with the fhir.resources R4B models (the R4 family, as the rest of
`ketaflow.fhir` is checked with); then the transaction's own rules: which resource types, which
requests, and that every reference names a Patient entry of the same bundle by its `urn:uuid:`
fullUrl. Every problem found is reported at once, each naming its element as a FHIRPath
(`Bundle.entry[2].resource.code`), never quoting a value (values are a patient's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ketaflow.errors import FieldProblem, KetaflowError

# A referral is one patient's record, or a few: 5 MB and 1,000 entries are far beyond any
# real one and keep one request from holding a worker (and the write lock) for long.
MAX_BUNDLE_BYTES = 5_000_000
MAX_ENTRIES = 1_000
PATIENT = "Patient"
CLINICAL_TYPES = ("Condition", "MedicationStatement", "AllergyIntolerance")
IMPORTED_TYPES = (PATIENT, *CLINICAL_TYPES)
# The element of each clinical type that names its patient.
PATIENT_ELEMENT = {"Condition": "subject", "MedicationStatement": "subject",
                   "AllergyIntolerance": "patient"}
_URN_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}")
_CONDITIONAL = re.compile(r"Patient\?identifier=([^|&]+)\|([^&]+)")


class InvalidBundle(KetaflowError):
    """The bundle is not a transaction ketaflow can import (400, naming each element)."""

    status_code = 400
    title = "Invalid bundle"


class BundleTooLarge(KetaflowError):
    status_code = 413
    title = "Bundle too large"


class NotJson(KetaflowError):
    """A body not sent as JSON: the request guard checks the text of JSON bodies only."""

    status_code = 415
    title = "Unsupported media type"


@dataclass(frozen=True)
class Entry:
    """One entry of the transaction: where it is, what it asks, and its parsed resource."""

    index: int
    full_url: str | None
    method: str
    # For a conditional PUT: the identifier (system, value) its URL matches on.
    condition: tuple[str, str] | None
    resource: Any  # the fhir.resources model of `resource_type`

    @property
    def resource_type(self) -> str:
        return str(self.resource.get_resource_type())

    def at(self, element: str = "") -> str:
        """The FHIRPath of an element of this entry's resource."""
        path = f"Bundle.entry[{self.index}].resource"
        return f"{path}.{element}" if element else path


def parse(body: bytes) -> list[Entry]:
    """The bundle's entries, in order; raises InvalidBundle listing every problem."""
    if len(body) > MAX_BUNDLE_BYTES:
        raise BundleTooLarge(f"a referral bundle may be at most {MAX_BUNDLE_BYTES:,} bytes",
                             field="Bundle")
    raw = _json(body)
    _check_kind(raw)
    try:
        bundle = get_fhir_model_class("Bundle").model_validate(raw)
    except ValidationError as exc:
        raise _invalid([FieldProblem(_path(e["loc"]), _message(e)) for e in exc.errors()]
                       ) from None
    entries, problems = _entries(bundle)
    problems += _reference_problems(entries)
    if problems:
        raise _invalid(problems)
    return entries


def _invalid(problems: Sequence[FieldProblem]) -> InvalidBundle:
    return InvalidBundle("; ".join(f"{p.field}: {p.detail}" for p in problems[:20]),
                         field=problems[0].field, problems=problems)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidBundle("the request body is not valid JSON", field="Bundle") from None


def _check_kind(raw: Any) -> None:
    """A transaction Bundle, said before its entries are parsed (a batch is refused plainly,
    not as a list of element errors)."""
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        raise InvalidBundle("the body must be a FHIR Bundle (resourceType Bundle)",
                            field="Bundle.resourceType")
    kind = raw.get("type")
    if kind == "batch":
        raise InvalidBundle("only a transaction Bundle is supported: a referral is imported "
                            "whole or not at all, never as a batch", field="Bundle.type")
    if kind != "transaction":
        raise InvalidBundle("Bundle.type must be transaction", field="Bundle.type")
    entries = raw.get("entry")
    if not isinstance(entries, list) or not entries:
        raise InvalidBundle("the bundle has no entries", field="Bundle.entry")
    if len(entries) > MAX_ENTRIES:
        raise BundleTooLarge(f"a referral bundle may have at most {MAX_ENTRIES} entries",
                             field="Bundle.entry")


def _path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as FHIRPath: ('entry', 2, 'resource', 'code') ->
    Bundle.entry[2].resource.code."""
    path = "Bundle"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: Any) -> str:
    """The validator's message without the value it refused (a value may be a patient's)."""
    message = str(error.get("msg", "invalid"))
    value = error.get("input")
    if isinstance(value, str | int | float) and str(value) and str(value) in message:
        message = message.replace(str(value), "(the value)")
    return message[:200]


class _Refused(Exception):
    """One entry's problem, while its checks run (collected by `_entries`)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = FieldProblem(field, detail)


def _entries(bundle: Any) -> tuple[list[Entry], list[FieldProblem]]:
    entries: list[Entry] = []
    problems: list[FieldProblem] = []
    for index, item in enumerate(bundle.entry or ()):
        try:
            entries.append(_entry(index, item))
        except _Refused as refused:
            problems.append(refused.problem)
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.full_url is None:
            continue
        if entry.full_url in seen:
            problems.append(FieldProblem(f"Bundle.entry[{entry.index}].fullUrl",
                                         f"the same fullUrl as entry {seen[entry.full_url]}"))
        seen.setdefault(entry.full_url, entry.index)
    return entries, problems


def _entry(index: int, item: Any) -> Entry:
    where = f"Bundle.entry[{index}]"
    resource = item.resource
    if resource is None:
        raise _Refused(f"{where}.resource", "every entry needs a resource")
    kind = resource.get_resource_type()
    if kind not in IMPORTED_TYPES:
        raise _Refused(f"{where}.resource.resourceType", "only Patient, Condition, "
                       "MedicationStatement and AllergyIntolerance are imported")
    full_url = item.fullUrl
    if full_url is not None and not _URN_UUID.fullmatch(full_url):
        raise _Refused(f"{where}.fullUrl", "fullUrl must be urn:uuid:<uuid>")
    if kind == PATIENT and full_url is None:
        raise _Refused(f"{where}.fullUrl", "a Patient entry needs its urn:uuid: fullUrl (the "
                       "other entries refer to it)")
    method, condition = _request(where, item.request, kind, resource)
    return Entry(index, full_url, method, condition, resource)


def _request(where: str, request: Any, kind: str, resource: Any
             ) -> tuple[str, tuple[str, str] | None]:
    """POST to the type, or for a Patient a PUT conditional on one of its identifiers."""
    if request is None:
        raise _Refused(f"{where}.request", "a transaction entry needs a request")
    method, url = str(request.method), str(request.url)
    if method == "PUT" and kind == PATIENT:
        found = _CONDITIONAL.fullmatch(url)
        if found is None:
            raise _Refused(f"{where}.request.url", "a PUT must be conditional: "
                           "Patient?identifier=system|value")
        condition = (found.group(1), found.group(2))
        if not _has_identifier(resource, condition):
            raise _Refused(f"{where}.request.url", "the identifier of the conditional PUT "
                           "must be one of the Patient's")
        return method, condition
    if method != "POST":
        raise _Refused(f"{where}.request.method", "only POST (and, for a Patient, a "
                       "conditional PUT) is supported")
    if url != kind:
        raise _Refused(f"{where}.request.url", f"a POST of a {kind} goes to {kind}")
    return method, None


def _has_identifier(resource: Any, wanted: tuple[str, str]) -> bool:
    return any((i.system, i.value) == wanted for i in resource.identifier or ())


def _reference_problems(entries: Sequence[Entry]) -> list[FieldProblem]:
    """Every clinical entry names a Patient entry of this bundle by its fullUrl."""
    patients = {e.full_url for e in entries if e.resource_type == PATIENT}
    problems: list[FieldProblem] = []
    for entry in entries:
        element = PATIENT_ELEMENT.get(entry.resource_type)
        if element is None:
            continue
        reference = getattr(entry.resource, element).reference
        if reference not in patients:
            problems.append(FieldProblem(
                entry.at(f"{element}.reference"),
                "the reference does not name a Patient entry of this bundle (use the "
                "Patient entry's urn:uuid: fullUrl)"))
    return problems


def patient_url(entry: Entry) -> str:
    """The fullUrl of the Patient a clinical entry is about (checked by `parse`)."""
    return str(getattr(entry.resource, PATIENT_ELEMENT[entry.resource_type]).reference)
