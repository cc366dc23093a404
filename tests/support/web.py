"""A TestClient that behaves like a browser on the app's own pages: https (so Secure cookies
come back) and an Origin header on every request (the guard refuses cross-site posts)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

BASE_URL = "https://testserver"


def browser_client(app: Any, **kwargs: Any) -> TestClient:
    kwargs.setdefault("follow_redirects", False)
    return TestClient(app, base_url=BASE_URL, headers={"origin": BASE_URL}, **kwargs)


def flush_audit(app: Any) -> None:
    """Write what the app's audit buffer has counted (refusals, portal opens, failed sign-ins),
    as its background task does every second."""
    app.state.audit_buffer.flush(app.state.session_factory)


def counted(events: Any) -> int:
    """How many occurrences buffered events stand for (each carries its count)."""
    import json

    return sum(json.loads(event.detail).get("count", 1) for event in events)
