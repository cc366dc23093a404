"""FHIR read and search as use cases: each runs its queries and writes one audit event (ids
and counts only, never a search value: a name or birth date searched for is a patient's)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import utcnow
from ketaflow.errors import NotFound
from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.registry import BY_NAME, ResourceType
from ketaflow.fhir.sources import people


def resource_type(name: str) -> ResourceType:
    kind = BY_NAME.get(name)
    if kind is None:
        raise NotFound(f"resource type {name[:40]} is not served here (see /fhir/R4/metadata)",
                       field="type")
    return kind


def read(session: Session, ctx: AuditContext, *, type_name: str, resource_id: str) -> Resource:
    kind = resource_type(type_name)
    plan = search.Plan((search.Criterion(search.ID.name, (resource_id,)),), 1, 0, ())
    page = search.run(session, kind.sources, plan)
    if not page.hits:
        raise NotFound(f"no {kind.name} with this id", field="id")
    resource = _resources(session, page.hits)[0]
    record_event(session, ctx, action="fhir.read", entity_type=kind.name,
                 entity_id=resource_id[:64], detail={"count": 1})
    return resource


def search_type(session: Session, ctx: AuditContext, *, type_name: str,
                query: Sequence[tuple[str, str]], base_url: str, zone: str) -> Resource:
    """A searchset Bundle: the page asked for, Bundle.total, self and next links (offset
    paging, `_count` at most 100), and included Patients after the matches."""
    kind = resource_type(type_name)
    plan = search.plan(query, kind.search_parameters, kind.includes, ZoneInfo(zone))
    page = search.run(session, kind.sources, plan)
    matches = _resources(session, page.hits)
    included = _included(session, kind, plan, matches)
    base = f"{base_url.rstrip('/')}/fhir/R4"
    entries = [_entry(base, r, "match") for r in matches]
    entries += [_entry(base, r, "include") for r in included]
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": utcnow().isoformat(),
        "total": page.total,
        "link": _links(base, kind.name, query, plan, page.total),
        "entry": entries,
    }
    record_event(session, ctx, action="fhir.search", entity_type=kind.name,
                 detail=_audit_detail(plan, len(matches), len(included), page.total))
    return bundle


def _resources(session: Session, hits: Sequence[search.Hit]) -> list[Resource]:
    """The hits' resources in the hits' order, each with its id and meta."""
    by_source: dict[str, list[search.RowId]] = {}
    for hit in hits:
        by_source.setdefault(hit.source.key, []).append(hit.row_id)
    sources = {hit.source.key: hit.source for hit in hits}
    loaded = {key: sources[key].load(session, ids) for key, ids in by_source.items()}
    return [search.with_meta(hit.source, hit.row_id, hit.updated,
                             loaded[hit.source.key][hit.row_id]) for hit in hits]


def _included(session: Session, kind: ResourceType, plan: search.Plan,
              matches: Sequence[Resource]) -> list[Resource]:
    if not plan.includes or kind.patient_element is None:
        return []
    ids = sorted({int(ref.removeprefix("Patient/")) for r in matches
                  for ref in _references(r, kind.patient_element.split("."))
                  if ref.startswith("Patient/")})
    if not ids:
        return []
    patients = search.Plan((search.Criterion(search.ID.name, tuple(map(str, ids))),),
                           len(ids), 0, ())
    page = search.run(session, (people.PATIENT,), patients)
    return _resources(session, page.hits)


def _references(value: object, path: list[str]) -> list[str]:
    """The references at a dotted element path, walking into lists."""
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item, path)]
    if not isinstance(value, dict):
        return []
    if not path:
        reference = value.get("reference")
        return [reference] if isinstance(reference, str) else []
    return _references(value.get(path[0]), path[1:])


def _entry(base: str, resource: Resource, mode: str) -> Resource:
    return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource, "search": {"mode": mode}}


def _links(base: str, name: str, query: Sequence[tuple[str, str]], plan: search.Plan,
           total: int) -> list[Resource]:
    kept = [(k, v) for k, v in query if k not in ("_offset", "_count")]
    kept.append(("_count", str(plan.count)))

    def url(offset: int) -> str:
        return f"{base}/{name}?{urlencode([*kept, ('_offset', str(offset))])}"

    links = [{"relation": "self", "url": url(plan.offset)}]
    if plan.offset + plan.count < total:
        links.append({"relation": "next", "url": url(plan.offset + plan.count)})
    if plan.offset > 0:
        links.append({"relation": "previous", "url": url(max(plan.offset - plan.count, 0))})
    return links


def _audit_detail(plan: search.Plan, matched: int, included: int, total: int) -> Resource:
    detail: Resource = {"count": matched, "total": total,
                        "parameters": sorted({c.name for c in plan.criteria})}
    if included:
        detail["included"] = included
    patients = sorted({v for c in plan.criteria if c.name == "patient" for v in c.values})
    if patients:
        detail["patient_ids"] = patients[:100]
    return detail

