"""AuditEvent, one per event of the audit trail (`ketaflow.audit`).

What an event says is kept to what the trail holds and never a patient value: the action as
type (its domain) and subtype (the whole action), the outcome, when, who acted (a staff
member by reference; a system or portal actor by its fixed name, never a patient's), and what
it was about as a reference when the entity is a served resource. The event's free-form
detail and the client's address (a patient's, for the portal) are not sent.
"""

from __future__ import annotations

from ketaflow.audit.models import AuditEvent
from ketaflow.fhir.codes import (
    KETAFLOW_CODES,
    Resource,
    coding,
    practitioner_id,
    reference,
)

AUDIT_PREFIX = "audit-"
# The trail's actions and entity kinds are ketaflow's own vocabulary (docs/audit-trail.md).
AUDIT_ACTION_CODES = f"{KETAFLOW_CODES}/audit-action"
AUDIT_ENTITY_CODES = f"{KETAFLOW_CODES}/audit-entity"
ENTITY_SYSTEM = "https://ketaflow.org/fhir/sid/audit-entity"
# The trail's outcome as FHIR's: success 0; a refusal (denied, or invalid input) is a minor
# failure (4): the request was turned away and nothing was done.
OUTCOME = {"success": "0", "failure": "4", "denied": "4"}
_NAMED_ACTORS = frozenset({"system", "portal"})
# The trail's entity kinds that are served resources: FHIR type and the prefix of its ids.
DOMAIN_RESOURCES = {"patient": ("Patient", ""), "staff_user": ("Practitioner", "staff-"),
                    "infusion_session": ("Encounter", "session-"),
                    "treatment_course": ("CarePlan", "course-"),
                    "appointment": ("Appointment", "appointment-"),
                    "site": ("Location", "site-")}


def audit_event(row: AuditEvent, action_code: str) -> Resource:
    resource: Resource = {
        "resourceType": "AuditEvent",
        "type": coding(AUDIT_ACTION_CODES, row.action.split(".", 1)[0],
                       row.action.split(".", 1)[0]),
        "subtype": [coding(AUDIT_ACTION_CODES, row.action, row.action)],
        "action": action_code,
        "recorded": row.occurred_at.isoformat(),
        "outcome": OUTCOME.get(row.outcome, "4"),
        "outcomeDesc": row.outcome,
        "agent": [_agent(row)],
        "source": {"site": "ketaflow",
                   "observer": reference("Organization", "clinic")},
        "entity": [_entity(row)],
    }
    return resource


def _agent(row: AuditEvent) -> Resource:
    agent: Resource = {"role": [{"text": row.actor_role}], "requestor": True}
    if row.actor_user_id is not None:
        agent["who"] = reference("Practitioner", practitioner_id(row.actor_user_id))
    elif row.actor_role in _NAMED_ACTORS:
        # A system duty, the command line or the portal: fixed names the code gives them.
        agent["who"] = {"display": row.actor_username}
    else:
        # Not signed in: the name typed at a failed sign-in is not repeated.
        agent["who"] = {"display": row.actor_role}
    return agent


def is_fhir_type(entity_type: str) -> bool:
    """FHIR reads and searches name their entity by its FHIR type (capitalised); the trail's
    own kinds are snake_case."""
    return entity_type[:1].isupper()


def _entity(row: AuditEvent) -> Resource:
    entity: Resource = {"type": coding(AUDIT_ENTITY_CODES, row.entity_type, row.entity_type)}
    if row.entity_id is None:
        return entity
    if is_fhir_type(row.entity_type):
        entity["what"] = reference(row.entity_type, row.entity_id)
    elif row.entity_type in DOMAIN_RESOURCES:
        kind, prefix = DOMAIN_RESOURCES[row.entity_type]
        entity["what"] = reference(kind, f"{prefix}{row.entity_id}")
    else:
        entity["what"] = {"identifier": {"system": f"{ENTITY_SYSTEM}/{row.entity_type}",
                                         "value": row.entity_id}}
    return entity
