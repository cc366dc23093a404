"""Per-request plumbing: the database session, the audit context and the signed-in principal."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit.service import AuditContext, anonymous_context
from ketaflow.config import Role, Settings


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    role: Role
    via_token: bool
    # Plain values taken when the request is authorised: nothing here touches the database.
    mfa_pending: bool = False
    mfa_enrolled: bool = False
    session_id: str | None = None  # the server-side session (hash of the cookie token)


# Async, like get_db: FastAPI runs sync dependencies in a worker thread, a needless hop.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Session:
    """The request's session. It connects on first use, inside the route's worker thread,
    which commits and closes it before the thread is handed back (`ketaflow.web.routing`)."""
    state = request.state
    if getattr(state, "db", None) is None:
        state.db = request.app.state.session_factory()
    db: Session = state.db
    return db


def session_factory(request: Request) -> sessionmaker[Session]:
    """For a route that needs a short transaction of its own before its main one."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def client_address(request: Request) -> str | None:
    """The client's address: the connection's, or, behind a trusted proxy, the nearest
    address in X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.client.host if request.client else None
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        request.app.state.trusted_proxies)
    if peer is None or not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed(hops):
        if not _is_address(hop):
            return peer  # a malformed header is not believed at all
        if not _within(hop, trusted):
            return hop
    return peer


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
            ) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def get_principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def require_principal(request: Request) -> Principal:
    principal = get_principal(request)
    if principal is None:  # the guard has already refused anonymous access to such routes
        raise RuntimeError("route used without a principal")
    return principal


def audit_context(request: Request) -> AuditContext:
    principal = get_principal(request)
    request_id = getattr(request.state, "request_id", None)
    base = anonymous_context(client_address(request), request_id)
    system = getattr(request.state, "system_access", None)
    if system is not None:  # a SMART system client (`ketaflow.fhir.smart`): it is the actor
        context: AuditContext = system.context(base)
        return context
    if principal is None:
        return base
    return base.as_user(principal.user_id, principal.username, principal.role.value)
