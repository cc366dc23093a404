"""Routes whose database work happens in one worker-thread call: run, commit, close.

A sync route runs in a worker thread. If its transaction stayed open after the route returned
and were committed later, in another thread, every request holding locks (PostgreSQL row
locks, SQLite's write lock) would wait for a free thread to commit, while the threads wait for
those locks: the server hangs under load (issue 10). So the route's own thread commits (or
rolls back) and closes the session before the route's result leaves it; nothing is held once
the thread is handed back. Every router uses `UnitOfWorkRoute`; a test checks it.

The same wrapper makes form posts act once: a form's one-time submission key is claimed in
the route's transaction and stored with its answer (`ketaflow.web.submissions`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from ketaflow.errors import KetaflowError
from ketaflow.web import submissions

# The request's ASGI state, set by the middleware; worker threads see it (AnyIO copies the
# context), so the thread that ran the route can finish its session.
REQUEST_STATE: ContextVar[dict[str, Any] | None] = ContextVar("ketaflow_request_state",
                                                               default=None)


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_one_transaction(endpoint)
        super().__init__(path, endpoint, **kwargs)


def in_one_transaction(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        keyed = submissions.pending(REQUEST_STATE.get())
        try:
            if keyed is not None:
                earlier = submissions.claim(keyed[1], keyed[0])
                if earlier is not None:  # submitted before: its answer; the route does not run
                    finish_session(commit=False)
                    return earlier
            result = endpoint(*args, **kwargs)
        except KetaflowError as error:
            if keyed is not None and error.keep_changes:
                submissions.release(keyed[1], keyed[0])
            finish_session(commit=error.keep_changes)
            raise
        except BaseException:
            finish_session(commit=False)
            raise
        try:
            if keyed is not None:
                submissions.record(keyed[1], keyed[0], result)
        except BaseException:
            finish_session(commit=False)
            raise
        finish_session(commit=True)
        return result

    return run


def finish_session(*, commit: bool) -> None:
    """Commit or roll back the request's session, if it opened one, and close it."""
    state = REQUEST_STATE.get()
    db: Session | None = None if state is None else state.pop("db", None)
    if db is None:
        return
    try:
        if commit:
            db.commit()
    finally:
        db.close()  # rolls back whatever did not commit and returns the connection
