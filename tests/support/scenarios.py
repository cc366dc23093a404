"""The two fault scenarios of issue 10, item 9, shared by the tests (bounded) and the
benchmarks (full size): a storm of concurrent clients, and kill -9 while gateways post vitals.
Each returns a report whose `problems()` is empty when every requirement held.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from ketaflow.audit.chain import GAP_GRACE
from tests.support.aio import run_async
from tests.support.health_poll import HealthPoller, HealthReport
from tests.support.load import (
    ExactlyOnce,
    Storm,
    StormResult,
    VitalsKeys,
    VitalsPost,
    exactly_once,
    kinds_never_served,
    seed,
    summary,
    unexpected,
)
from tests.support.servers import AuditCheck, Server, ServerConfig, checkout_env, seal_and_verify

# `ketaflow serve` with several workers exits 0 on SIGTERM; with one, uvicorn re-raises the
# signal once it has shut down gracefully, so the status is "ended by SIGTERM" (systemd counts
# both as a clean stop).
CLEAN_EXITS = (0, -signal.SIGTERM)
SETTLE_S = 2.0  # the health poller carries on this long after the storm
RETRY_S = 0.05  # a gateway's pause before it posts the same reading again
GATEWAYS_TIMEOUT_S = 120.0  # after the last restart every gateway gets its answer by then


def _configs(url: str, var_dir: Path, servers: int, workers: int) -> list[ServerConfig]:
    # A var folder each, as on separate hosts: checkpoints go to the folder of whoever sealed.
    return [ServerConfig(url, var_dir / f"server{n + 1}", workers) for n in range(servers)]


# ---------------------------------------------------------------- storm


@dataclass
class StormReport:
    result: StormResult
    health: HealthReport
    once: ExactlyOnce
    audit: AuditCheck
    exit_statuses: list[int]
    log_problems: list[str]

    def problems(self) -> list[str]:
        found = unexpected(self.result.answers)
        found += [f"{kind}: never served (only 503s)"
                  for kind in kinds_never_served(self.result.answers)]
        if not self.health.ok:
            found.append(f"health: {self.health.line()}: "
                         f"{(self.health.slow + self.health.failed)[:5]}")
        if self.once.lost or self.once.duplicated:
            found.append(f"vitals: {self.once.line()}")
        if not self.audit.ok:
            found.append(f"audit: {self.audit.output}")
        found += [f"server exited with {status} on SIGTERM"
                  for status in self.exit_statuses if status not in CLEAN_EXITS]
        found += [f"server log: {line}" for line in self.log_problems[:10]]
        return found

    def lines(self) -> list[str]:
        return [*summary(self.result), f"  health          {self.health.line()}",
                f"  exactly once    {self.once.line()}", f"  audit           {self.audit.output}"]


def run_storm(url: str, var_dir: Path, *, servers: int = 1, workers: int = 2,
              clients: int = 600, rounds: int = 2) -> StormReport:
    """Seed `url`, start `servers` servers of `workers` processes on it, storm them with
    `clients` concurrent clients while a separate process polls their health, stop them
    (SIGTERM), then count the vitals rows per key and seal and verify the audit trail."""
    data = seed(url)
    configs = _configs(url, var_dir, servers, workers)
    processes = [Server(config) for config in configs]
    try:
        for process in processes:
            process.start()
        storm = Storm([p.base for p in processes], data, clients=clients, rounds=rounds)
        poller = HealthPoller([p.base for p in processes], checkout_env())
        try:
            result = run_async(storm.run())
            time.sleep(SETTLE_S)
        finally:
            health = poller.stop()
        statuses = [process.stop() for process in processes]
    finally:
        for process in processes:
            process.kill()
    return StormReport(result, health, exactly_once(url, result.posted, result.acknowledged),
                       seal_and_verify(configs),
                       statuses, [line for p in processes for line in p.log_problems()])


# ---------------------------------------------------------------- crash


@dataclass
class CrashTally:
    posted: list[VitalsPost] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    replayed: int = 0  # acknowledged from the stored answer: the first answer was lost
    retries: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # answers other than 201/409/5xx


@dataclass
class CrashReport:
    cycles: int
    tally: CrashTally
    once: ExactlyOnce
    audit: AuditCheck
    log_problems: list[str]
    seconds: float

    def problems(self) -> list[str]:
        found = [f"vitals answered {status} x{n}" for status, n in self.tally.refused.items()]
        if self.once.lost or self.once.duplicated or self.once.stored_unacknowledged:
            found.append(f"vitals: {self.once.line()}")
        if not self.audit.ok:
            found.append(f"audit: {self.audit.output}")
        found += [f"server log: {line}" for line in self.log_problems[:10]]
        return found

    def lines(self) -> list[str]:
        return [f"{self.cycles} kill -9 cycles in {self.seconds:.0f} s, "
                f"{len(self.tally.posted)} readings posted, {self.tally.retries} retries",
                f"  exactly once    {self.once.line()}",
                f"  replayed        {self.tally.replayed} acknowledged from the stored answer "
                "after the first was lost",
                f"  audit           {self.audit.output}"]


def run_crash(url: str, var_dir: Path, *, cycles: int, gateways: int = 16,
              up_s: tuple[float, float] = (0.1, 1.0), workers: int = 1, rng_seed: int = 10,
              progress: Callable[[int], None] | None = None) -> CrashReport:
    """Gateways post vitals without pause, each retrying its reading with the same key until
    it is answered, while the server is started and killed (-9, at a random moment `up_s`
    after it is healthy) `cycles` times; then started once more so every reading gets its
    answer. Every reading posted must be stored exactly once."""
    data = seed(url)
    config = _configs(url, var_dir, 1, workers)[0]
    server = Server(config)
    tally = CrashTally()
    started = time.monotonic()
    try:
        run_async(_crash(server, VitalsKeys(data, "crash"), data.api_token, tally, cycles,
                         gateways, up_s, random.Random(rng_seed), progress))
        server.stop()
    finally:
        server.kill()
    # Writes killed mid-transaction leave gaps in the audit ids; the sealer (and `audit seal`)
    # seals past a gap only once it is GAP_GRACE old, when it can no longer commit.
    time.sleep(GAP_GRACE.total_seconds() + 1)
    return CrashReport(cycles, tally, exactly_once(url, tally.posted, tally.acknowledged),
                       seal_and_verify([config]), server.log_problems(),
                       time.monotonic() - started)


async def _crash(server: Server, keys: VitalsKeys, token: str, tally: CrashTally, cycles: int,
                 gateways: int, up_s: tuple[float, float], rng: random.Random,
                 progress: Callable[[int], None] | None) -> None:
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=server.base, timeout=30.0) as client:
        posting = [asyncio.create_task(_gateway(client, keys, token, stop, tally))
                   for _ in range(gateways)]
        try:
            for cycle in range(1, cycles + 1):
                await asyncio.to_thread(server.start)
                await asyncio.sleep(rng.uniform(*up_s))
                await asyncio.to_thread(server.kill)
                if progress is not None:
                    progress(cycle)
            await asyncio.to_thread(server.start)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*posting), GATEWAYS_TIMEOUT_S)
        finally:
            for task in posting:
                task.cancel()


async def _gateway(client: httpx.AsyncClient, keys: VitalsKeys, token: str, stop: asyncio.Event,
                   tally: CrashTally) -> None:
    while not stop.is_set():
        post = next(keys)
        tally.posted.append(post)
        await _until_answered(client, post, token, tally)


async def _until_answered(client: httpx.AsyncClient, post: VitalsPost, token: str,
                          tally: CrashTally) -> None:
    """As a monitor gateway does: the same reading and key again until an answer comes. A
    409 (the key is still being written elsewhere) and a 5xx mean "retry" too."""
    while True:
        try:
            response = await client.post(post.path, json=post.body(), headers=post.headers(token))
        except httpx.HTTPError:  # the server died under the request, or is not up yet
            response = None
        if response is not None and response.status_code == 201:
            tally.acknowledged.add(post.key)
            tally.replayed += response.headers.get("idempotent-replayed") == "true"
            return
        if response is not None and response.status_code < 500 and response.status_code != 409:
            tally.refused[str(response.status_code)] += 1
            return
        tally.retries += 1
        await asyncio.sleep(RETRY_S)
