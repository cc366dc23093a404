"""The SMART Backend Services endpoints under /fhir/R4 (thin: parse, call one service,
answer): the token endpoint and `/.well-known/smart-configuration`.

Mounted before the FHIR read/search router, whose `/{type}/{id}` would otherwise take
`/.well-known/smart-configuration`. The token endpoint answers OAuth2's own JSON errors
(RFC 6749 section 5.2), not OperationOutcomes: OAuth clients read `error`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from ketaflow.auth.permissions import public
from ketaflow.config import Settings
from ketaflow.fhir.outcome import FHIR_PREFIX
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.smart import service
from ketaflow.fhir.smart.keys import SIGNING_ALGORITHMS
from ketaflow.fhir.smart.scopes import supported
from ketaflow.fhir.smart.service import TOKEN_PATH, token_url
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["fhir"], route_class=UnitOfWorkRoute, include_in_schema=False)
DB = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
# RFC 6749 section 5.1's `Cache-Control: no-store` is set on every response by the
# middleware (`ketaflow.web.middleware`); only the HTTP/1.0 header is added here.
_NO_CACHE = {"Pragma": "no-cache"}


def smart_configuration(base_url: str) -> dict[str, Any]:
    return {
        "token_endpoint": token_url(base_url),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "grant_types_supported": [service.GRANT_TYPE],
        "scopes_supported": supported(BY_NAME),
        "capabilities": ["client-confidential-asymmetric"],
    }


@router.get(f"{FHIR_PREFIX}/.well-known/smart-configuration")
@public
def configuration(settings: AppSettings) -> JSONResponse:
    """How a backend service gets a token here (SMART App Launch 2 discovery)."""
    return JSONResponse(smart_configuration(settings.public_base_url))


@router.post(TOKEN_PATH)
@public
def token(
    request: Request,
    db: DB,
    settings: AppSettings,
    grant_type: Annotated[str, Form()] = "",
    client_assertion_type: Annotated[str, Form()] = "",
    client_assertion: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "",
) -> JSONResponse:
    """client_credentials with a signed JWT assertion -> a five-minute access token."""
    try:
        issued = service.issue_token(
            db, audit_context(request), grant_type=grant_type,
            assertion_type=client_assertion_type, assertion=client_assertion, scope=scope,
            token_url=token_url(settings.public_base_url), served=BY_NAME)
    except service.OAuthError as refusal:
        # Returned, not raised: the refusal's audit event is committed with the request.
        return JSONResponse({"error": refusal.error, "error_description": refusal.description},
                            status_code=refusal.status, headers=_NO_CACHE)
    return JSONResponse({"access_token": issued.access_token, "token_type": "bearer",
                         "expires_in": issued.expires_in_s, "scope": issued.scope},
                        headers=_NO_CACHE)
