"""Licensed wording packs: loading, every validation error, and the wording a form shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ketaflow.scales import get_instrument
from ketaflow.scales.instruments.public import PFIZER_ATTRIBUTION
from ketaflow.scales.wording import (
    WordingPackError,
    display_wording,
    load_wording_pack,
    parse_wording_pack,
)


def madrs_pack() -> dict[str, Any]:
    """A complete, valid pack with made-up text (no real MADRS wording)."""
    return {
        "instrument": "madrs",
        "version": "test copy 1",
        "copyright": "Licensed to Test Clinic",
        "items": [
            {"id": item.id, "text": f"Licensed text {item.number}",
             "options": [{"score": 0, "text": f"anchor {item.number}.0"},
                         {"score": 6, "text": f"anchor {item.number}.6"}]}
            for item in get_instrument("madrs").items
        ],
    }


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_valid_pack_loads_and_overrides_text(tmp_path: Path) -> None:
    pack = load_wording_pack(write(tmp_path, madrs_pack()))
    assert (pack.instrument_id, pack.version) == ("madrs", "test copy 1")
    shown = display_wording("madrs", pack)
    assert shown.wording_source == "pack"
    assert shown.wording_version == "test copy 1"
    assert shown.items[2].text == "Licensed text 3"
    assert shown.items[2].name == "Inner tension"
    # Scores with pack text show it; the others keep their number.
    assert [o.text for o in shown.items[2].options] == [
        "anchor 3.0", "1", "2", "3", "4", "5", "anchor 3.6"]
    assert shown.notice == "Licensed to Test Clinic"


def test_without_pack_names_only_instruments_show_item_names() -> None:
    shown = display_wording("madrs")
    assert shown.wording_source == "ketaflow"
    assert shown.items[0].text == "Apparent sadness"
    assert shown.notice is not None and "item names and scoring only" in shown.notice


def test_public_instrument_keeps_attribution_with_a_pack() -> None:
    pack = parse_wording_pack({
        "instrument": "phq9", "version": "translation 2", "copyright": "Translation by X",
        "preamble": "Translated preamble",
        "items": [{"id": item.id, "text": f"T{item.number}"}
                  for item in get_instrument("phq9").items],
    })
    shown = display_wording("phq9", pack)
    assert shown.notice == f"{PFIZER_ATTRIBUTION} Translation by X"
    assert shown.preamble == "Translated preamble"
    assert display_wording("phq9").items[0].text == "Little interest or pleasure in doing things"
    assert display_wording("phq9").notice == PFIZER_ATTRIBUTION


def test_pack_for_another_instrument_is_refused() -> None:
    pack = parse_wording_pack(madrs_pack())
    with pytest.raises(ValueError, match="is for madrs, not phq9"):
        display_wording("phq9", pack)


def _drop_item(pack: dict[str, Any]) -> None:
    pack["items"].pop()


def _unknown_item(pack: dict[str, Any]) -> None:
    pack["items"][0]["id"] = "mood_swings"


def _no_id(pack: dict[str, Any]) -> None:
    del pack["items"][0]["id"]


def _duplicate(pack: dict[str, Any]) -> None:
    pack["items"][1]["id"] = pack["items"][0]["id"]


def _bad_score(pack: dict[str, Any]) -> None:
    pack["items"][2]["options"][1]["score"] = 7


def _bool_score(pack: dict[str, Any]) -> None:
    pack["items"][2]["options"][0]["score"] = True


def _same_score_twice(pack: dict[str, Any]) -> None:
    pack["items"][2]["options"][1]["score"] = 0


def _unknown_instrument(pack: dict[str, Any]) -> None:
    pack["instrument"] = "hamd17"


def _no_version(pack: dict[str, Any]) -> None:
    del pack["version"]


def _empty_text(pack: dict[str, Any]) -> None:
    pack["items"][0]["text"] = "  "


def _typo_key(pack: dict[str, Any]) -> None:
    pack["itmes"] = pack.pop("items")


def _items_not_list(pack: dict[str, Any]) -> None:
    pack["items"] = {}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop_item, "missing item id(s) 'suicidal_thoughts' for madrs"),
        (_unknown_item, "items[1] has unknown item id 'mood_swings' for madrs"),
        (_no_id, "items[1] has no 'id'"),
        (_duplicate, "item 'apparent_sadness' appears twice"),
        (_bad_score, "item 'inner_tension' options[2] score 7 does not match the instrument's: "
                     "madrs item 3 allows 0-6"),
        (_bool_score, "options[1] score True does not match"),
        (_same_score_twice, "item 'inner_tension' options give score 0 twice"),
        (_unknown_instrument, "unknown instrument 'hamd17'"),
        (_no_version, "'version' must be a non-empty string"),
        (_empty_text, "item 'apparent_sadness' text must be a non-empty string"),
        (_typo_key, "the pack has unknown key(s) 'itmes'"),
        (_items_not_list, "'items' must be a list"),
    ],
)
def test_invalid_packs_name_the_problem(tmp_path: Path, mutate: Any, message: str) -> None:
    data = madrs_pack()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(WordingPackError) as caught:
        load_wording_pack(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "pack.json"
    path.write_text('{"instrument": "madrs",\n', encoding="utf-8")
    with pytest.raises(WordingPackError, match=r"not valid JSON: .* line 2"):
        load_wording_pack(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WordingPackError, match="cannot read the file"):
        load_wording_pack(tmp_path / "absent.json")


def test_pack_must_be_an_object() -> None:
    with pytest.raises(WordingPackError, match="the pack must be a JSON object"):
        parse_wording_pack([1, 2], source="x.json")


def test_wording_pack_error_is_a_value_error() -> None:
    assert issubclass(WordingPackError, ValueError)
