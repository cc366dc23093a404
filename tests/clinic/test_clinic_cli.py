"""`ketaflow clinic set/show`, and `serve` refusing production without a crisis line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _ketaflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ketaflow", *args], env=os.environ | env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_production_refuses_to_serve_until_the_crisis_line_is_set(tmp_path: Path) -> None:
    env = {"KETAFLOW_VAR_DIR": str(tmp_path), "KETAFLOW_DATABASE_URL":
           f"sqlite:///{tmp_path / 'k.db'}", "KETAFLOW_MODE": "production",
           "KETAFLOW_SECRET_KEY": "s" * 40, "KETAFLOW_AUDIT_KEY": "a" * 40}
    assert _ketaflow(env, "db", "upgrade").returncode == 0
    refused = _ketaflow(env, "serve", "--port", "1")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: refusing to start in production: the clinic profile has no "
                           "crisis line (clinic profile: crisis line")
    empty = _ketaflow(env, "clinic", "set", "--name", "Lakeside Clinic")
    # Refused entries are user errors: exit status 2, one line.
    assert empty.returncode == 2 and "in production a crisis line is required" in empty.stderr
    bad_zone = _ketaflow(env, "clinic", "set", "--name", "Lakeside Clinic", "--crisis-line",
                         "555 0100", "--timezone", "Nowhere/Atlantis")
    assert bad_zone.returncode == 2 and "Time zone" in bad_zone.stderr
    saved = _ketaflow(env, "clinic", "set", "--name", "Lakeside Clinic",
                      "--national-line-country", "GB", "--timezone", "Europe/London")
    assert saved.returncode == 0, saved.stderr
    shown = _ketaflow(env, "clinic", "show")
    assert "National crisis line: GB" in shown.stdout
    assert "Time zone in force: Europe/London" in shown.stdout and "warning" not in shown.stdout
