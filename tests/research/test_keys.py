"""The research key: kept outside the database, generated once, refused when too short."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ketaflow.config import SettingsError, load_settings


def test_the_research_key_is_generated_once_with_mode_0600_apart_from_the_others(
        tmp_path: Path) -> None:
    cfg = load_settings(var_dir=tmp_path / "var")
    first = cfg.effective_research_key
    key_file = tmp_path / "var" / "research_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(first) >= 32
    assert first not in {cfg.effective_audit_key, cfg.effective_secret_key.encode()}
    assert load_settings(var_dir=tmp_path / "var").effective_research_key == first


def test_a_given_research_key_is_used_and_not_written(tmp_path: Path) -> None:
    cfg = load_settings(var_dir=tmp_path, research_key="r" * 40)
    assert cfg.effective_research_key == b"r" * 40
    assert not (tmp_path / "research_key").exists()
    assert "r" * 40 not in repr(cfg)


def test_a_short_research_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"KETAFLOW_RESEARCH_KEY.*at least 32 characters"):
        load_settings(var_dir=tmp_path, research_key="short")
