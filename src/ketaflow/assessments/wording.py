"""Licensed wording packs a clinic keeps in KETAFLOW_SCALES_WORDING_DIR, loaded at app start."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ketaflow.config import SettingsError
from ketaflow.scales.wording import WordingPack, WordingPackError, load_wording_pack

SETTING = "KETAFLOW_SCALES_WORDING_DIR"


def load_wording_packs(directory: Path | None) -> Mapping[str, WordingPack]:
    """Every `*.json` pack in the directory, by instrument id.

    Raises SettingsError (naming the setting, the file and the problem) for a missing directory,
    an invalid pack or two packs for one instrument, so a bad pack stops start-up instead of
    showing staff the wrong wording.
    """
    if directory is None:
        return MappingProxyType({})
    if not directory.is_dir():
        raise SettingsError(f"invalid setting {SETTING}: {directory} is not a directory")
    packs: dict[str, WordingPack] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            pack = load_wording_pack(path)
        except WordingPackError as exc:
            raise SettingsError(f"invalid setting {SETTING}: {exc}") from None
        if pack.instrument_id in packs:
            raise SettingsError(
                f"invalid setting {SETTING}: {path} and {packs[pack.instrument_id].source} "
                f"are both wording packs for {pack.instrument_id}")
        packs[pack.instrument_id] = pack
    return MappingProxyType(packs)
