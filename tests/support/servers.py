"""`ketaflow serve` as a subprocess, started the way a clinic starts it, for the load and crash
tests and benchmarks: start and wait until healthy, stop gracefully, or kill -9; and the
`ketaflow` commands run with the same settings.

The server runs the code of this checkout (PYTHONPATH points at its src/), whichever
environment the interpreter comes from.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[2]
# Every server sharing a database must share both keys (docs/deployment.md). Fixed here so
# the seeding process, the servers and the CLI all agree.
SECRET_KEY = "load-test-secret-key-" + "s" * 40
AUDIT_KEY = "load-test-audit-key-" + "a" * 40
START_TIMEOUT_S = 90.0  # generous: two cores shared with other work; a hang still fails
STOP_TIMEOUT_S = 30.0  # the server's own graceful shutdown is 10 s
CLI_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def checkout_env(**settings: str) -> dict[str, str]:
    """The environment for a subprocess running this checkout's code (and its tests package)."""
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return os.environ | {"PYTHONPATH": path} | settings


@dataclass(frozen=True)
class ServerConfig:
    """What a `ketaflow serve` process is told: its database, var folder and workers. Other
    KETAFLOW_* settings come from the caller's environment, so a run can try one out
    (`KETAFLOW_MAX_CONCURRENT_REQUESTS=16 pytest tests/web/test_storm.py`)."""

    database_url: str
    var_dir: Path
    workers: int = 1

    def env(self) -> dict[str, str]:
        return checkout_env(
            KETAFLOW_DATABASE_URL=self.database_url, KETAFLOW_VAR_DIR=str(self.var_dir),
            KETAFLOW_MODE="demo", KETAFLOW_SECRET_KEY=SECRET_KEY, KETAFLOW_AUDIT_KEY=AUDIT_KEY,
            # Plain http on loopback: cookies without Secure (and so without __Host-).
            KETAFLOW_COOKIE_SECURE="false")


class Server:
    """One `ketaflow serve` process group (the parent and its workers) on one port."""

    def __init__(self, config: ServerConfig, port: int | None = None) -> None:
        self.config = config
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = config.var_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.config.var_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "ketaflow", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(self.config.workers)]
        with self.log_path.open("ab") as log:
            # Its own process group, so kill -9 reaches the workers too, as a crash would.
            self.process = subprocess.Popen(command, env=self.config.env(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited while starting: {self.log_tail()}")
                try:
                    if client.get(f"{self.base}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the server was not healthy within {START_TIMEOUT_S:g} s")

    def kill(self) -> None:
        """kill -9 the whole process group (workers too, if the parent is gone) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> int:
        """SIGTERM, as systemd sends it; the exit status. Killed if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return 0 if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"the server did not stop within {STOP_TIMEOUT_S:g} s of "
                               "SIGTERM") from None

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        """Lines of the log that report an error (tracebacks, ERROR and CRITICAL records)."""
        if not self.log_path.exists():
            return []
        words = ("Traceback", "ERROR", "CRITICAL")
        return [line for line in self.log_path.read_text(errors="replace").splitlines()
                if any(word in line for word in words)]


def ketaflow(config: ServerConfig, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `ketaflow` command with the server's settings; its output and status."""
    return subprocess.run([sys.executable, "-m", "ketaflow", *args], env=config.env(),
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    output: str


def seal_and_verify(configs: list[ServerConfig]) -> AuditCheck:
    """`ketaflow audit seal`, then `ketaflow audit verify` with each server's var folder (each
    holds the checkpoints its server recorded): all must succeed and leave nothing unsealed."""
    runs = [ketaflow(configs[0], "audit", "seal")]
    runs += [ketaflow(config, "audit", "verify") for config in configs]
    output = " | ".join(text.strip() for run in runs for text in (run.stdout, run.stderr)
                        if text.strip())
    # verify passes with committed events not sealed yet, noting how many; after a seal there
    # must be none.
    ok = all(run.returncode == 0 for run in runs) and "not sealed" not in output
    return AuditCheck(ok, output)
