"""A load balancer's health check, in a process of its own: GET /healthz on each server about
every 100 ms, on a new connection each time (as a balancer does, so a full accept queue shows),
until SIGTERM; then one JSON line with every poll's latency and answer.

It is a separate process so that the load generator's event loop cannot delay the polls and
make a healthy server look slow. `HealthPoller` starts and stops it from a test or benchmark.

    python -m tests.support.health_poll http://127.0.0.1:8000 [...]
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

import httpx2 as httpx

INTERVAL_S = 0.1
BOUND_S = 1.0  # every answer must come within this (docs/deployment.md, "Overload")
# Longer than the bound, so a slow answer is measured rather than cut off; a poll that gets
# nothing in this time is a hang.
TIMEOUT_S = 5.0
MAX_LIFETIME_S = 3600.0  # a poller whose parent vanished does not run for ever
READY = "ready"


def _poll_forever(base: str, stop: threading.Event, polls: list[tuple[float, float, str]]
                  ) -> None:
    # No keep-alive: each poll opens a connection, like a balancer's check.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, timeout=TIMEOUT_S, limits=limits) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                answer = str(client.get("/healthz").status_code)
            except httpx.HTTPError as error:
                answer = type(error).__name__
            polls.append((time.time(), time.monotonic() - started, answer))
            stop.wait(INTERVAL_S)


def main(bases: list[str]) -> None:
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    results: dict[str, list[tuple[float, float, str]]] = {base: [] for base in bases}
    threads = [threading.Thread(target=_poll_forever, args=(base, stop, results[base]))
               for base in bases]
    for thread in threads:
        thread.start()
    print(READY, flush=True)
    stop.wait(MAX_LIFETIME_S)
    stop.set()
    for thread in threads:
        thread.join()
    print(json.dumps(results), flush=True)


@dataclass(frozen=True)
class HealthReport:
    polls: int
    worst_s: float
    p99_s: float
    slow: list[str]  # answers later than BOUND_S, each with its time (s after the first poll)
    failed: list[str]  # polls answered with anything but 200 (status or error), with time

    @property
    def ok(self) -> bool:
        return self.polls > 0 and not self.slow and not self.failed

    def line(self) -> str:
        return (f"{self.polls} polls, worst {self.worst_s * 1000:.0f} ms, p99 "
                f"{self.p99_s * 1000:.0f} ms, {len(self.slow)} over {BOUND_S:g} s, "
                f"{len(self.failed)} not 200")


def report(results: dict[str, list[list[float | str]]]) -> HealthReport:
    polls = [(float(when), float(latency), str(answer))
             for per_server in results.values() for when, latency, answer in per_server]
    first = min((when for when, _, _ in polls), default=0.0)
    latencies = sorted(latency for _, latency, _ in polls)
    failed = [f"{answer} at {when - first:.1f} s" for when, _, answer in polls if answer != "200"]
    slow = [f"{latency * 1000:.0f} ms at {when - first:.1f} s" for when, latency, _ in polls
            if latency > BOUND_S]
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
    return HealthReport(len(polls), latencies[-1] if latencies else 0.0, p99, slow, failed)


class HealthPoller:
    """Start the poller process; `stop()` ends it and returns its report."""

    def __init__(self, bases: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.health_poll", *bases], env=env,
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if ready != READY:
            self.process.kill()
            raise RuntimeError(f"the health poller did not start (said {ready!r})")

    def stop(self) -> HealthReport:
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=TIMEOUT_S * 3)
        return report(json.loads(output.strip().splitlines()[-1]))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
