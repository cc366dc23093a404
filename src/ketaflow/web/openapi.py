"""The JSON API's contract: every status and media type each operation can answer, in one place.

FastAPI documents what a route returns when it succeeds and its own 422; everything else a
request can meet on its way is added here, once, to the generated schema:

- the guard (`ketaflow.web.guard`): 401 without a valid bearer token, 403 when the role may not
  do this, 404 for a path id that names no record (beyond the database's integer range
  included), 422 for control characters in any text (the query string of every operation);
- body parsing: 400 when the body is not JSON, 422 when it does not match its schema;
- overload (`ketaflow.web.admission`, a saturated database, a full write queue): 503 with
  Retry-After;
- idempotent writes (an `Idempotency-Key` header): 409 while the same key is in flight, 422 for
  a key reused with another body, and `Idempotent-Replayed: true` on a replayed answer.

Every text input also gets the guard's character rule as a `pattern` (no control characters;
tab and line breaks allowed in bodies), so a request valid by the schema is one the guard
admits. A string that already has a pattern, an enum or a format is left alone: its own
pattern must exclude control characters.

Every refusal is an RFC 9457 problem (`application/problem+json`, the `Problem` component).
What only some operations answer (409 for their state conflicts, 429 where an attempt is
throttled) is declared on the route with `problem(status, description)`.
"""

from __future__ import annotations

import copy
from typing import Any

from ketaflow.textcheck import CONTROLS_IN_LINE, CONTROLS_IN_TEXT

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_METHODS = ("get", "put", "post", "delete", "patch")
LINE_PATTERN = f"^[^{CONTROLS_IN_LINE}]*$"  # path, query and header values
TEXT_PATTERN = f"^[^{CONTROLS_IN_TEXT}]*$"  # strings (and keys) in a JSON body
_SUBSCHEMAS = ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems")

_FIELD_ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "dotted location, e.g. `answers.item1`"},
        "detail": {"type": "string", "description": "what is wrong with it, naming it as "
                                                    "the form's label does"},
        "message": {"type": "string", "description": "the same as `detail` (older clients)"},
    },
    "required": ["field", "detail"],
    "additionalProperties": False,
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Never contains the submitted values.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "`about:blank`: the status says it all"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what to change, for a person to read"},
        "instance": {"type": "string", "description": "the request's path"},
        "request_id": {"type": "string", "description": "also the `X-Request-ID` header"},
        "field": {"type": "string", "description": "the input a refusal is about"},
        "errors": {"type": "array", "items": _FIELD_ERROR,
                   "description": "every input refused at once: by the request's schema "
                                  "or by the clinical rules"},
    },
    # An overloaded server answers before the request has an id or a route.
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": False,
}

_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No bearer token, or one that is invalid, expired or revoked.",
    403: "The token's role may not do this.",
    404: "A record named in the path does not exist (an id beyond the database's integer "
         "range names none).",
    409: "The record's state does not allow this now.",
    422: "The input is refused: it does not match the schema (`errors` lists each field), "
         "a text holds a control character, or a clinical rule refuses it (`field` names "
         "the input).",
    429: "Too many failed attempts; wait before trying again.",
    503: "The server or its database is busy; retry after `Retry-After` seconds.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "seconds to wait before retrying", "required": True,
                          "schema": {"type": "integer", "minimum": 0}}},
}
_IDEMPOTENT_409 = "A request with the same Idempotency-Key is still being processed: retry."
_IDEMPOTENT_422 = "The Idempotency-Key was already used for a different request."
_REPLAYED = {"Idempotent-Replayed": {
    "description": "`true` when this is the stored answer to an earlier request with the "
                   "same Idempotency-Key (nothing was applied again)",
    "schema": {"type": "string", "enum": ["true"]}}}


def problem(status: int, description: str | None = None) -> dict[int | str, dict[str, Any]]:
    """A refusal only some operations give, for a route's `responses=`: e.g.
    `problem(409, "the alert is already acknowledged")`."""
    return {status: _problem_response(status, description or _DESCRIPTIONS[status])}


def _problem_response(status: int, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in _HEADERS:
        response["headers"] = copy.deepcopy(_HEADERS[status])
    return response


def complete(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Add what every operation under `prefix` can answer to FastAPI's generated schema."""
    # A copy: the generated schema shares dicts with the models' own declarations.
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    # FastAPI's own validation-error shapes are never sent: errors are problems.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    patched: set[str] = set()
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for method in _METHODS:
            if method in item:
                _complete_operation(item[method])
                _forbid_controls(item[method], components, patched)
    return schema


def _forbid_controls(operation: dict[str, Any], components: dict[str, Any],
                     patched: set[str]) -> None:
    for parameter in operation.get("parameters", []):
        _add_pattern(parameter.get("schema", {}), LINE_PATTERN, components, patched)
    for media in operation.get("requestBody", {}).get("content", {}).values():
        _add_pattern(media.get("schema", {}), TEXT_PATTERN, components, patched)


def _add_pattern(node: Any, pattern: str, components: dict[str, Any], patched: set[str]) -> None:
    """Give every plain string in `node` (and the components it refers to) `pattern`."""
    if isinstance(node, list):
        for item in node:
            _add_pattern(item, pattern, components, patched)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[-1]
        if name not in patched:  # each component once (and no endless loop on recursion)
            patched.add(name)
            _add_pattern(components.get(name), pattern, components, patched)
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
        node["pattern"] = pattern
    if node.get("type") == "object" and node.get("additionalProperties") not in (None, False):
        node.setdefault("propertyNames", {"pattern": pattern})  # the guard reads keys too
    for value in node.get("properties", {}).values():
        _add_pattern(value, pattern, components, patched)
    for key in _SUBSCHEMAS:
        if key in node:
            _add_pattern(node[key], pattern, components, patched)


def _complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    statuses = [401, 403, 422, 503]
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if "requestBody" in operation:
        statuses.append(400)
    for status in statuses:
        _add(responses, status, _DESCRIPTIONS[status])
    if any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
        _add(responses, 409, _IDEMPOTENT_409)
        _add(responses, 422, _IDEMPOTENT_422)
        for code, response in responses.items():
            if code.startswith("2"):
                response.setdefault("headers", {}).update(copy.deepcopy(_REPLAYED))
    for code, response in responses.items():
        if code[0] in "45":
            # A route's own declaration (or FastAPI's 422) may lack the problem media type.
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
            if int(code) in _HEADERS:
                response.setdefault("headers", {}).update(copy.deepcopy(_HEADERS[int(code)]))
    operation["responses"] = dict(sorted(responses.items()))


def _add(responses: dict[str, Any], status: int, description: str) -> None:
    """Declare `status`, or add `description` to a declaration the route already made."""
    existing = responses.get(str(status))
    if existing is None:
        responses[str(status)] = _problem_response(status, description)
    elif description not in existing.get("description", ""):
        if existing.get("description") in (None, "Validation Error"):
            existing["description"] = description
        else:
            existing["description"] = f"{existing['description']} {description}"
