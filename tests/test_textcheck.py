"""The person-name character check: every bidi control and zero-width character is refused."""

from __future__ import annotations

import pytest

from ketaflow.textcheck import (
    BIDI_CONTROLS,
    FORBIDDEN_IN_NAMES,
    ZERO_WIDTH,
    NameCharacterError,
    check_person_name,
    forbidden_characters,
)

EXPECTED = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200C, 0x200D, 0x2060,
            0xFEFF}


def test_the_forbidden_set_is_exactly_the_listed_code_points() -> None:
    assert {ord(c) for c in FORBIDDEN_IN_NAMES} == EXPECTED
    assert BIDI_CONTROLS.isdisjoint(ZERO_WIDTH)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_forbidden_character_is_refused_naming_field_and_code_point(code: int) -> None:
    with pytest.raises(NameCharacterError) as error:
        check_person_name(f"Ann{chr(code)}a", field="given_name", label="given name")
    assert error.value.field == "given_name"
    assert f"U+{code:04X}" in error.value.message
    assert "Ann" not in error.value.message  # never the name itself


@pytest.mark.parametrize("name", ["Zoë O'Brien-Łukasz", "José María", "山田 太郎", "محمد",
                                  "Nguyễn", "", None])
def test_ordinary_names_in_any_script_pass(name: str | None) -> None:
    check_person_name(name, field="family_name")


def test_findings_are_listed_once_in_order() -> None:
    assert forbidden_characters("\u202eA\u200bB\u202e") == ["U+202E", "U+200B"]
