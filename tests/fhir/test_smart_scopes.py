"""System scopes, the pure part: v1 `.read` and v2 `.rs`/`.r`/`.s`, wildcards, and what is
refused (writes, queries, other contexts, unserved types)."""

from __future__ import annotations

import pytest

from ketaflow.fhir.smart.scopes import (
    READ_AND_SEARCH,
    Interaction,
    ScopeError,
    allows,
    covers,
    parse,
    readable_types,
)

SERVED = ("Patient", "Observation", "Condition")


def test_v1_and_v2_read_scopes() -> None:
    grant = parse("system/Patient.read system/Observation.rs system/Condition.r", SERVED)
    assert grant["Patient"] == READ_AND_SEARCH == grant["Observation"]
    assert grant["Condition"] == {Interaction.READ}
    assert allows(grant, "Condition", [Interaction.READ])
    assert not allows(grant, "Condition", [Interaction.SEARCH])
    assert readable_types(grant, SERVED) == ["Patient", "Observation"]


def test_wildcard_covers_every_type_and_only_a_wildcard_covers_a_wildcard() -> None:
    everything = parse("system/*.read", SERVED)
    assert readable_types(everything, SERVED) == list(SERVED)
    assert covers(everything, parse("system/Patient.rs system/Condition.s", SERVED))
    patient = parse("system/Patient.read", SERVED)
    assert not covers(patient, parse("system/*.read", SERVED))
    assert not covers(patient, parse("system/Observation.read", SERVED))
    assert covers(parse("system/Patient.s", SERVED) | {"Patient": READ_AND_SEARCH},
                  parse("system/Patient.r", SERVED))
    assert not covers(parse("system/Patient.r", SERVED), parse("system/Patient.rs", SERVED))


@pytest.mark.parametrize(("scope", "words"), [
    ("", "required"),
    ("system/Patient.write", "only reads"),
    ("system/Patient.cruds", "only reads"),
    ("system/*.*", "only reads"),
    ("system/Patient.sr", "only reads"),
    ("system/Observation.rs?category=vital-signs", "queries"),
    ("patient/Patient.read", "system scopes"),
    ("openid", "system scopes"),
    ("system/Spaceship.read", "not served"),
])
def test_refused_scopes_name_themselves(scope: str, words: str) -> None:
    with pytest.raises(ScopeError, match=words.replace("?", r"\?")):
        parse(scope, SERVED)
