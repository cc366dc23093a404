"""Every route declares a permission, and each role gets exactly what its permissions allow."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import PUBLIC, ROLE_PERMISSIONS, Permission, declared_permission
from ketaflow.config import Role
from ketaflow.web.app import mounted_routers
from tests.support.web import browser_client
from tests.web.helpers import api_token, committed_user, csrf, sign_in

ROUTES = [
    (route, prefix + route.path)
    for router, prefix in mounted_routers()
    for route in router.routes
    if isinstance(route, APIRoute)
]


def test_there_are_routes_to_check() -> None:
    assert len(ROUTES) >= 20


@pytest.mark.parametrize(("route", "path"), ROUTES, ids=[p for _, p in ROUTES])
def test_route_declares_a_permission(route: APIRoute, path: str) -> None:
    assert declared_permission(route.endpoint) is not None, f"{path} declares no permission"


def test_route_without_permission_is_refused(app_client: TestClient) -> None:
    """The guard refuses (500, no trace) a route that forgot to declare a permission."""
    app = app_client.app

    @app.get("/undeclared")  # type: ignore[attr-defined]
    def undeclared() -> dict[str, str]:
        return {"leak": "secret"}

    client = browser_client(app, raise_server_exceptions=False)
    response = client.get("/undeclared")
    assert response.status_code == 500 and "secret" not in response.text
    assert "Traceback" not in response.text


def _fill(path: str, ids: dict[str, str]) -> str:
    # Ids with no arranged record (patient_id, ...) get 1: a role that may call the route then
    # gets 404 or 422, never 403, which is all this matrix checks.
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(app_client: TestClient, app_db: Session, role: Role) -> None:
    me = committed_user(app_db, role)
    other = committed_user(app_db, Role.NURSE)
    token_raw = api_token(app_db, other)
    ids = {"user_id": str(other.id), "token_id": token_raw.split("_")[1]}
    assert sign_in(app_client, me.username) == 303
    bearer = {"Authorization": f"Bearer {api_token(app_db, me)}"}
    checked = 0
    for route, raw_path in ROUTES:
        permission = declared_permission(route.endpoint)
        if permission is PUBLIC or permission is Permission.SESSION:
            continue
        assert isinstance(permission, Permission)
        path = _fill(raw_path, ids)
        for method in sorted(route.methods - {"HEAD"}):
            if path.startswith("/api/"):
                response = app_client.request(
                    method, path, headers=bearer, json={} if method == "POST" else None
                )
            else:
                response = app_client.request(
                    method,
                    path,
                    data={"csrf_token": csrf(app_client)} if method == "POST" else None,
                )
            allowed = permission in ROLE_PERMISSIONS[role]
            assert (response.status_code == 403) != allowed, (
                f"{role} {method} {path} -> {response.status_code}"
            )
            assert response.status_code != 401
            checked += 1
    assert checked >= 15


def test_anonymous_is_sent_to_sign_in_or_gets_401(app_client: TestClient) -> None:
    page = app_client.get("/admin/users")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    api = app_client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["www-authenticate"] == "Bearer"
