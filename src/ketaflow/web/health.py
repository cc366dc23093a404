"""The health check's own database probe: one connection, one thread, one second at most."""

from __future__ import annotations

import anyio
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ketaflow.db import READ_ONLY, make_engine

TIMEOUT_S = 1.0


class HealthProbe:
    def __init__(self, url: str) -> None:
        # Its own pool of one, so a saturated request pool cannot make the server look dead.
        self._engine = make_engine(url, connections=1, pool_timeout=TIMEOUT_S, serving=True)
        self.engine: Engine = self._engine.execution_options(**READ_ONLY)
        self._limiter = anyio.CapacityLimiter(1)

    async def database_ok(self) -> bool:
        with anyio.move_on_after(TIMEOUT_S):
            return await anyio.to_thread.run_sync(self._select_one, limiter=self._limiter,
                                                  abandon_on_cancel=True)
        return False

    def _select_one(self) -> bool:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT 1")).scalar() == 1
        except SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self._engine.dispose()
