"""The framework's ceiling for benchmarks/bench_vitals.py: a FastAPI app with one POST route
that takes a small pydantic body (a vitals reading) and answers JSON, and nothing else, served
by ketaflow's own serving code (`ketaflow.web.server`: the same uvicorn settings, httptools and
uvloop, no access log, one SO_REUSEPORT socket per worker). What ketaflow adds on top of this
(authentication, idempotency, the database, the audit trail) is what bench_vitals.py compares.

    python benchmarks/ceiling_app.py PORT WORKERS
"""

from __future__ import annotations

import sys

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from ketaflow.web import server

# Each spawned worker imports this file before it serves, so the switch below holds in the
# workers too: they run ketaflow's `_worker` with this app in place of ketaflow's.
server.APP = "ceiling_app:create_app"


class Reading(BaseModel):
    """The body the vitals route takes (ketaflow.infusions.schemas.VitalsIn, without time)."""

    model_config = ConfigDict(extra="forbid")
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    hr_bpm: float | None = None
    spo2_percent: float | None = None
    rr_per_min: float | None = None
    rass: int | None = None


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None)

    # The same path as ketaflow's, so benchmarks/vitals.lua drives both unchanged.
    @app.post("/api/v1/infusions/sessions/{session_id}/vitals", status_code=201)
    async def record_vitals(session_id: int, body: Reading) -> dict[str, object]:
        return {"session_id": session_id, "vitals": body.model_dump()}

    return app


if __name__ == "__main__":
    sys.exit(server.serve("127.0.0.1", int(sys.argv[1]), int(sys.argv[2])))
