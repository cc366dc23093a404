"""Licensed wording packs from KETAFLOW_SCALES_WORDING_DIR: loaded at start, shown on forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketaflow.assessments.wording import load_wording_packs
from ketaflow.config import SettingsError, load_settings
from ketaflow.scales import get_instrument
from ketaflow.web.app import create_app


def _pack(instrument_id: str) -> dict[str, object]:
    instrument = get_instrument(instrument_id)
    return {"instrument": instrument_id, "version": "Clinic licensed copy 2026",
            "copyright": "Used under licence by Example Clinic",
            "items": [{"id": item.id, "text": f"Licensed text for {item.id}",
                       "options": [{"score": item.min_score, "text": "anchor low"}]}
                      for item in instrument.items]}


def test_valid_packs_are_loaded_by_instrument(tmp_path: Path) -> None:
    (tmp_path / "madrs.json").write_text(json.dumps(_pack("madrs")))
    (tmp_path / "notes.txt").write_text("not a pack")
    packs = load_wording_packs(tmp_path)
    assert list(packs) == ["madrs"] and packs["madrs"].version == "Clinic licensed copy 2026"
    assert load_wording_packs(None) == {}


@pytest.mark.parametrize("problem", ["invalid", "duplicate", "missing-dir"])
def test_a_bad_pack_stops_start_up_with_a_clear_message(tmp_path: Path, problem: str) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    if problem == "invalid":
        bad = _pack("madrs") | {"instrument": "hamd"}
        (folder / "bad.json").write_text(json.dumps(bad))
        expected = "bad.json: unknown instrument 'hamd'"
    elif problem == "duplicate":
        (folder / "a.json").write_text(json.dumps(_pack("ymrs")))
        (folder / "b.json").write_text(json.dumps(_pack("ymrs")))
        expected = "are both wording packs for ymrs"
    else:
        folder = tmp_path / "absent"
        expected = "is not a directory"
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", var_dir=tmp_path,
                             secret_key="w" * 48, scales_wording_dir=folder)
    with pytest.raises(SettingsError) as exc:
        create_app(settings)
    assert "KETAFLOW_SCALES_WORDING_DIR" in str(exc.value) and expected in str(exc.value)
