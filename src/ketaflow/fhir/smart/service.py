"""System clients as use cases: register, list, disable (each audited); the token endpoint's
work (check the signed assertion, issue an opaque token, audited either way); and resolving a
token on each FHIR request. Services never commit: the routes and the CLI do.

The assertion rules are SMART App Launch 2 "Backend Services" (RFC 7523 private_key_jwt):
iss = sub = client_id, aud = this token endpoint, exp at most five minutes ahead, a `jti`
used once, signed RS384 or ES384 with the registered key. Any failure to authenticate is
`invalid_client` (401), as the spec asks; scopes beyond those registered are `invalid_scope`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ketaflow.audit.service import AuditContext, Outcome, record_event
from ketaflow.auth import security
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from ketaflow.fhir.smart import keys, scopes
from ketaflow.fhir.smart.models import SystemClient, SystemToken, UsedAssertion

ENTITY = "fhir_system_client"
TOKEN_PREFIX = "kfs"
GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The spec's typical lifetime of an access token, and the longest an assertion may live.
TOKEN_LIFETIME = timedelta(seconds=300)
ASSERTION_MAX_LIFETIME = timedelta(seconds=300)
# Clock difference tolerated between the client and us, on exp only.
CLOCK_SKEW = timedelta(seconds=60)
TOKEN_PATH = "/fhir/R4/auth/token"


def token_url(base_url: str) -> str:
    """The token endpoint's address, which is also the audience an assertion must name."""
    return f"{base_url.rstrip('/')}{TOKEN_PATH}"


class OAuthError(Exception):
    """An OAuth2 token error (RFC 6749 section 5.2): `error` code, a description for the
    client's operator, and the HTTP status. Carries no patient data (there is none here)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in_s: int
    scope: str


@dataclass(frozen=True)
class SystemAccess:
    """What a system token lets its client do, resolved once per request."""

    client_id: str
    client_name: str
    grant: scopes.Grant

    def context(self, base: AuditContext) -> AuditContext:
        return client_context(base, self.client_id)


def client_context(base: AuditContext, client_id: str) -> AuditContext:
    """The audit actor for what a client does: the client, by id (no user is behind it)."""
    return AuditContext(None, client_id, "system-client", base.client_address,
                        base.request_id, client_id=client_id)


# ---------------------------------------------------------------- registration


def register_client(db: Session, ctx: AuditContext, *, name: str, public_key: str,
                    allowed_scopes: str, served: Collection[str]) -> SystemClient:
    """A new client with its public key (JWK or PEM) and the scopes it may ask for."""
    problems: list[tuple[str, str]] = []
    if not name.strip():
        problems.append(("name", "a name is required, e.g. the referring EHR's"))
    try:
        jwk, algorithm = keys.public_jwk(public_key)
    except keys.KeyProblem as problem:
        problems.append(("public_key", str(problem)))
    try:
        scopes.parse(allowed_scopes, served)
    except scopes.ScopeError as problem:
        problems.append(("scopes", str(problem)))
    if problems:
        field, detail = problems[0]
        raise ValidationFailed(detail, field=field,
                               problems=[FieldProblem(f, d) for f, d in problems])
    client = SystemClient(id=f"kfc-{secrets.token_hex(12)}", name=name.strip()[:100],
                          public_jwk=jwk, algorithm=algorithm,
                          allowed_scopes=allowed_scopes.split(),
                          created_by_user_id=ctx.actor_user_id)
    db.add(client)
    db.flush()
    record_event(db, ctx, action="fhir.client.register", entity_type=ENTITY,
                 entity_id=client.id, detail={"algorithm": algorithm,
                                              "scopes": client.allowed_scopes})
    return client


def list_clients(db: Session) -> list[SystemClient]:
    return list(db.scalars(select(SystemClient).options(joinedload(SystemClient.created_by))
                           .order_by(SystemClient.created_at.desc(), SystemClient.id)))


def get_client(db: Session, client_id: str) -> SystemClient:
    client = db.get(SystemClient, client_id[:40])
    if client is None:
        raise NotFound("no system client with this id", field="client_id")
    return client


def disable_client(db: Session, ctx: AuditContext, *, client_id: str) -> SystemClient:
    """It gets no more tokens, and the tokens it holds stop working at once."""
    client = get_client(db, client_id)
    if client.disabled_at is not None:
        raise Conflict("the client is already disabled")
    client.disabled_at = utcnow()
    record_event(db, ctx, action="fhir.client.disable", entity_type=ENTITY, entity_id=client.id)
    return client


# ---------------------------------------------------------------- the token endpoint


def issue_token(db: Session, ctx: AuditContext, *, grant_type: str, assertion_type: str,
                assertion: str, scope: str, token_url: str,
                served: Collection[str]) -> IssuedToken:
    """Check the request and its assertion; issue a token. Refusals are audited too (the
    client id as claimed, the error code), then raised as OAuthError."""
    claimed = _claimed_client_id(assertion)
    try:
        client, granted = _authenticate(db, grant_type=grant_type,
                                        assertion_type=assertion_type, assertion=assertion,
                                        scope=scope, token_url=token_url, served=served)
    except OAuthError as refusal:
        # Recorded against a registered client only: anyone may post here, and refusals
        # naming no client (or one that does not exist) must not fill the trail.
        if claimed is not None and db.get(SystemClient, claimed) is not None:
            record_event(db, ctx, action="fhir.client.token", entity_type=ENTITY,
                         entity_id=claimed, outcome=Outcome.DENIED,
                         detail={"error": refusal.error})
        raise
    token_id = secrets.token_hex(8)
    secret = security.new_token(32)
    db.add(SystemToken(id=token_id, client_id=client.id, scopes=granted,
                       secret_sha256=security.sha256_hex(secret),
                       expires_at=utcnow() + TOKEN_LIFETIME))
    db.flush()
    record_event(db, client_context(ctx, client.id), action="fhir.client.token",
                 entity_type=ENTITY, entity_id=client.id,
                 detail={"token_id": token_id, "scopes": granted})
    return IssuedToken(f"{TOKEN_PREFIX}_{token_id}_{secret}",
                       int(TOKEN_LIFETIME.total_seconds()), " ".join(granted))


def _claimed_client_id(assertion: str) -> str | None:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) and 0 < len(iss) <= 40 else None


def _authenticate(db: Session, *, grant_type: str, assertion_type: str, assertion: str,
                  scope: str, token_url: str, served: Collection[str]
                  ) -> tuple[SystemClient, list[str]]:
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type" if grant_type else "invalid_request",
                         f"grant_type must be {GRANT_TYPE}")
    if assertion_type != ASSERTION_TYPE:
        raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    if not assertion:
        raise OAuthError("invalid_request", "client_assertion is required")
    client = _assertion_client(db, assertion)
    claims = _verified_claims(client, assertion, token_url)
    granted = _granted(client, scope, served)
    _use_once(db, client, claims)  # last: a refused request leaves nothing but its audit
    return client, granted


def _invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def _assertion_client(db: Session, assertion: str) -> SystemClient:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _invalid_client("client_assertion is not a JWT") from None
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or iss != sub:
        raise _invalid_client("the assertion's iss and sub must both be the client_id")
    client = db.get(SystemClient, iss[:40]) if len(iss) <= 40 else None
    if client is None:
        raise _invalid_client("unknown client_id")
    if not client.enabled:
        raise _invalid_client("this client is disabled")
    if header.get("alg") != client.algorithm:
        raise _invalid_client(f"the assertion must be signed {client.algorithm} "
                              "(the registered key's algorithm)")
    return client


def _verified_claims(client: SystemClient, assertion: str, token_url: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion, keys.verifying_key(client.public_jwk, client.algorithm),
            algorithms=[client.algorithm], audience=token_url, issuer=client.id,
            subject=client.id, leeway=CLOCK_SKEW,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]})
    except jwt.ExpiredSignatureError:
        raise _invalid_client("the assertion has expired") from None
    except jwt.InvalidAudienceError:
        raise _invalid_client(f"the assertion's aud must be {token_url}") from None
    except jwt.InvalidSignatureError:
        raise _invalid_client("the assertion's signature does not match the registered "
                              "key") from None
    except jwt.MissingRequiredClaimError as missing:
        raise _invalid_client(f"the assertion lacks the {missing.claim} claim") from None
    except jwt.PyJWTError:
        raise _invalid_client("the assertion could not be verified") from None
    except (OverflowError, ValueError):  # a time outside what the platform can represent
        raise _invalid_client("the assertion's exp, iat or nbf is out of range") from None
    # Compared as numbers first: an exp years ahead must be refused, not overflow a datetime.
    latest = (utcnow() + ASSERTION_MAX_LIFETIME + CLOCK_SKEW).timestamp()
    if claims["exp"] > latest:
        raise _invalid_client("the assertion's exp may be at most five minutes ahead")
    if not isinstance(claims["jti"], str) or not 1 <= len(claims["jti"]) <= 255:
        raise _invalid_client("the assertion's jti must be a string of 1 to 255 characters")
    return claims


def _use_once(db: Session, client: SystemClient, claims: dict[str, Any]) -> None:
    """Store the jti; one seen before is a replay. Expired ones are forgotten (an assertion
    past its exp is refused anyway)."""
    now = utcnow()
    db.execute(delete(UsedAssertion).where(UsedAssertion.client_id == client.id,
                                           UsedAssertion.expires_at < now - CLOCK_SKEW))
    if db.get(UsedAssertion, (client.id, claims["jti"])) is not None:
        raise _invalid_client("this assertion (its jti) was already used")
    try:
        with db.begin_nested():  # another server accepted the same jti just now
            db.add(UsedAssertion(client_id=client.id, jti=claims["jti"],
                                 expires_at=datetime.fromtimestamp(claims["exp"], UTC)))
    except IntegrityError:
        raise _invalid_client("this assertion (its jti) was already used") from None


def _granted(client: SystemClient, scope: str, served: Collection[str]) -> list[str]:
    try:
        asked = scopes.parse(scope, served)
        allowed = scopes.parse(" ".join(client.allowed_scopes), served)
    except scopes.ScopeError as problem:
        raise OAuthError("invalid_scope", str(problem)) from None
    if not scopes.covers(allowed, asked):
        raise OAuthError("invalid_scope", "scope asks for more than this client is allowed: "
                         f"{' '.join(client.allowed_scopes)}")
    return list(dict.fromkeys(scope.split()))


# ---------------------------------------------------------------- tokens on each request


def is_system_token(raw: str) -> bool:
    return raw.startswith(f"{TOKEN_PREFIX}_")


def resolve_token(db: Session, raw: str, served: Collection[str]) -> SystemAccess | None:
    """The live token's access (None when unknown, expired, or its client is disabled)."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) > 16:
        return None
    token = db.scalar(select(SystemToken).options(joinedload(SystemToken.client))
                      .where(SystemToken.id == parts[1]))
    if token is None or not hmac.compare_digest(token.secret_sha256,
                                                security.sha256_hex(parts[2])):
        return None
    if token.expires_at <= utcnow() or not token.client.enabled:
        return None
    return SystemAccess(token.client.id, token.client.name,
                        scopes.parse(" ".join(token.scopes), served))


def granted_types(access: SystemAccess, served: Iterable[str]) -> list[str]:
    return scopes.readable_types(access.grant, served)
