"""`ketaflow serve` with several worker processes: each serves, and they stop together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:  # the parent's pid follows the state
            children.append(int(stat.parent.name))
    return children


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer within 60 s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = os.environ | {"KETAFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
                        "KETAFLOW_VAR_DIR": str(tmp_path), "KETAFLOW_MODE": "demo"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ketaflow", "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    yield process, base
    if process.poll() is None:
        process.kill()
        process.wait()


def _worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    # Each worker is a spawned interpreter; its resource tracker helper is not a worker.
    return [pid for pid in _children(process.pid)
            if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]


def test_workers_serve_and_stop_together(server: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base = server
    _wait_healthy(base)
    workers = _worker_pids(process)
    assert len(workers) == 2
    with httpx.Client(base_url=base) as client:
        assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_worker_that_dies_stops_the_server(server: tuple[subprocess.Popen[bytes], str]) -> None:
    process, base = server
    _wait_healthy(base)
    first, second = _worker_pids(process)
    os.kill(first, signal.SIGKILL)
    assert process.wait(timeout=30) != 0  # a supervisor sees the failure
    assert not Path(f"/proc/{second}").exists()
