"""Serving the app with uvicorn, in one process or several.

With several workers, each process listens on its own socket bound with SO_REUSEPORT, so the
kernel spreads new connections evenly across them. With one shared socket (uvicorn's own
multi-process mode) whichever process wakes first accepts a whole burst of connections, and
monitor gateways keep theirs open: benchmarks/bench_vitals.py saw splits of 31 to 1 between
two workers, one saturated while the other idled.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from multiprocessing.connection import wait
from types import FrameType

import uvicorn

APP = "ketaflow.web.app:create_app_from_environment"


# On SIGTERM requests in flight get this long to finish, then the worker exits regardless:
# a stuck request can delay a restart, never prevent it.
GRACEFUL_SHUTDOWN_S = 10


def _config(host: str, port: int) -> uvicorn.Config:
    # proxy_headers off: the app decides whom to believe (KETAFLOW_TRUSTED_PROXIES).
    return uvicorn.Config(APP, factory=True, host=host, port=port, log_level="info",
                          access_log=False, proxy_headers=False, lifespan="on",
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


def serve(host: str, port: int, workers: int) -> int:
    """Serve until stopped (SIGTERM or SIGINT); the exit status is 1 if a worker ended on its
    own, which stops the others too, so a supervisor (systemd) sees the failure and restarts."""
    if workers == 1:
        uvicorn.Server(_config(host, port)).run()
        return 0
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(host, port)) for _ in range(workers)]
    for process in processes:
        process.start()

    requested: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        requested.append(signum)
        for process in processes:
            process.terminate()  # uvicorn finishes the requests in flight, then exits

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait([process.sentinel for process in processes])  # the first to end ends them all
    died_on_its_own = not requested
    stop(signal.SIGTERM, None)
    for process in processes:
        process.join()
    return 1 if died_on_its_own else 0


def _worker(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    uvicorn.Server(_config(host, port)).run(sockets=[sock])
