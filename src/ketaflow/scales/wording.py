"""Licensed wording packs: a clinic's own copy of an instrument's wording, loaded from a file.

ketaflow ships item names only for copyrighted instruments. A clinic holding a licence puts the
wording in a local JSON file; it is validated against the instrument definition and then replaces
the text shown. Format (see docs/scales.md):

    {"instrument": "madrs", "version": "clinic copy 2024",
     "preamble": "optional text shown above the items",
     "copyright": "optional licence statement shown with the form",
     "items": [{"id": "apparent_sadness", "text": "...",
                "options": [{"score": 0, "text": "..."}, {"score": 2, "text": "..."}]}]}

Every item of the instrument must appear exactly once. Options are optional and may cover only
some scores (MADRS and YMRS anchors define every other point); each score must be one of the
item's scores. Scores without text are shown as their number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ketaflow.scales.instruments import (
    INSTRUMENTS,
    Instrument,
    Item,
    Licence,
    get_instrument,
)


class WordingPackError(ValueError):
    """A wording pack that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ItemWording:
    text: str
    options: Mapping[int, str]


@dataclass(frozen=True)
class WordingPack:
    instrument_id: str
    version: str
    items: Mapping[str, ItemWording]
    source: str
    preamble: str | None = None
    copyright: str | None = None


_TOP_KEYS = frozenset({"instrument", "version", "items", "preamble", "copyright"})
_ITEM_KEYS = frozenset({"id", "text", "options"})
_OPTION_KEYS = frozenset({"score", "text"})


def _fail(source: str, message: str) -> WordingPackError:
    return WordingPackError(f"{source}: {message}")


def _text(value: object, source: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, f"{where} must be a non-empty string")
    return value


def _check_keys(value: object, allowed: frozenset[str], source: str, where: str
                ) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, f"{where} must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(source, f"{where} has unknown key(s) {', '.join(map(repr, unknown))} "
                            f"(allowed: {', '.join(sorted(allowed))})")
    return value


def _options(raw: object, item: Item, instrument: Instrument, source: str) -> dict[int, str]:
    where = f"item {item.id!r} options"
    if not isinstance(raw, list):
        raise _fail(source, f"{where} must be a list")
    options: dict[int, str] = {}
    for index, entry in enumerate(raw, start=1):
        option = _check_keys(entry, _OPTION_KEYS, source, f"{where}[{index}]")
        score = option.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or score not in item.scores:
            raise _fail(source, f"{where}[{index}] score {score!r} does not match the "
                                f"instrument's: {instrument.id} item {item.ref} allows "
                                f"{item.min_score}-{item.max_score}")
        if score in options:
            raise _fail(source, f"{where} give score {score} twice")
        options[score] = _text(option.get("text"), source, f"{where}[{index}] text")
    return options


def _items(raw: object, instrument: Instrument, source: str) -> dict[str, ItemWording]:
    if not isinstance(raw, list):
        raise _fail(source, "'items' must be a list")
    known = {item.id: item for item in instrument.items}
    items: dict[str, ItemWording] = {}
    for index, entry in enumerate(raw, start=1):
        data = _check_keys(entry, _ITEM_KEYS, source, f"items[{index}]")
        if "id" not in data:
            raise _fail(source, f"items[{index}] has no 'id'")
        item_id = data["id"]
        if item_id not in known:
            raise _fail(source, f"items[{index}] has unknown item id {item_id!r} for "
                                f"{instrument.id} (known: {', '.join(known)})")
        if item_id in items:
            raise _fail(source, f"item {item_id!r} appears twice")
        item = known[item_id]
        items[item_id] = ItemWording(
            text=_text(data.get("text"), source, f"item {item_id!r} text"),
            options=MappingProxyType(_options(data.get("options", []), item, instrument, source)),
        )
    missing = [item_id for item_id in known if item_id not in items]
    if missing:
        raise _fail(source, f"missing item id(s) {', '.join(map(repr, missing))} for "
                            f"{instrument.id}")
    return items


def parse_wording_pack(data: object, *, source: str = "wording pack") -> WordingPack:
    """Validate already-decoded JSON as a wording pack."""
    top = _check_keys(data, _TOP_KEYS, source, "the pack")
    instrument_id = top.get("instrument")
    if not isinstance(instrument_id, str) or instrument_id not in INSTRUMENTS:
        raise _fail(source, f"unknown instrument {instrument_id!r} "
                            f"(known: {', '.join(INSTRUMENTS)})")
    instrument = INSTRUMENTS[instrument_id]
    version = _text(top.get("version"), source, "'version'")
    if "items" not in top:
        raise _fail(source, "'items' is missing")
    optional = {key: _text(top[key], source, f"{key!r}")
                for key in ("preamble", "copyright") if key in top}
    return WordingPack(
        instrument_id=instrument_id,
        version=version,
        items=MappingProxyType(_items(top["items"], instrument, source)),
        source=source,
        preamble=optional.get("preamble"),
        copyright=optional.get("copyright"),
    )


def load_wording_pack(path: str | os.PathLike[str]) -> WordingPack:
    """Read and validate a wording pack file (UTF-8 JSON)."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(source, f"cannot read the file ({exc.__class__.__name__})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(source, f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}") from exc
    return parse_wording_pack(data, source=source)


# --- what a form shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DisplayOption:
    score: int
    text: str


@dataclass(frozen=True)
class DisplayItem:
    id: str
    ref: str
    name: str
    text: str
    options: tuple[DisplayOption, ...]
    fixed_score: int | None
    fixed_reason: str | None
    asked_if_yes: str | None


@dataclass(frozen=True)
class DisplayWording:
    """The wording a form shows for one instrument, and where it came from."""

    instrument_id: str
    name: str
    version: str
    wording_source: str  # "ketaflow" (shipped text or item names) or "pack"
    wording_version: str | None
    preamble: str | None
    notice: str | None  # attribution or licence statement to show with the form
    items: tuple[DisplayItem, ...]


def display_wording(instrument: str | Instrument, pack: WordingPack | None = None
                    ) -> DisplayWording:
    """Wording to show: the pack's where loaded, else shipped text, else the item name."""
    definition = get_instrument(instrument)
    if pack is not None and pack.instrument_id != definition.id:
        raise ValueError(f"wording pack {pack.source} is for {pack.instrument_id}, "
                         f"not {definition.id}")
    items = []
    for item in definition.items:
        wording = None if pack is None else pack.items[item.id]
        pack_options: Mapping[int, str] = {} if wording is None else wording.options
        items.append(DisplayItem(
            id=item.id,
            ref=item.ref,
            name=item.name,
            text=wording.text if wording is not None else (item.text or item.name),
            options=tuple(DisplayOption(o.score, pack_options.get(o.score, o.label))
                          for o in item.options),
            fixed_score=item.fixed_score,
            fixed_reason=item.fixed_reason,
            asked_if_yes=item.asked_if_yes,
        ))
    # The Pfizer attribution stays even over a translated pack; names-only instruments without a
    # pack say why the text is just item names.
    parts = [definition.attribution, None if pack is None else pack.copyright]
    if pack is None and definition.licence is not Licence.PUBLIC_WORDING:
        parts.append(definition.licence_note)
    notice = " ".join(part for part in parts if part) or None
    return DisplayWording(
        instrument_id=definition.id,
        name=definition.name,
        version=definition.version,
        wording_source="ketaflow" if pack is None else "pack",
        wording_version=None if pack is None else pack.version,
        preamble=definition.preamble if pack is None or pack.preamble is None else pack.preamble,
        notice=notice,
        items=tuple(items),
    )
