"""System scopes (SMART App Launch 2): what a token may read. Pure: strings in, sets out.

`system/<Type>.read` (v1) grants read and search of the type; v2 writes the same as `.rs`, or
`.r` (read only) or `.s` (search only). `*` for the type means every type served. This server
only reads, so write scopes (`.write`, `.c`, `.u`, `.d`, `.*`) and v2 scope queries
(`system/Observation.rs?category=...`) are refused rather than silently narrowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

ANY_TYPE = "*"
F = TypeVar("F", bound=Callable[..., object])
_SCOPE = re.compile(r"system/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<what>[a-z*]{1,5})")
_V1_READ = "read"
_V2_READ_ONLY = re.compile(r"r?s?")


class Interaction(StrEnum):
    READ = "read"      # GET /<Type>/<id>
    SEARCH = "search"  # GET /<Type>?... (and the type's share of $export, with READ)


READ_AND_SEARCH = frozenset({Interaction.READ, Interaction.SEARCH})
Grant = Mapping[str, frozenset[Interaction]]


class ScopeError(ValueError):
    """A scope that cannot be granted; the message names it (it is the client's own text)."""


def parse(text: str, served: Collection[str]) -> dict[str, frozenset[Interaction]]:
    """Space-separated scopes -> what each type (or `*`) may do. Raises ScopeError."""
    grant: dict[str, frozenset[Interaction]] = {}
    words = text.split()
    if not words:
        raise ScopeError("scope is required, e.g. system/*.read")
    for word in words:
        type_name, interactions = _one(word, served)
        grant[type_name] = grant.get(type_name, frozenset()) | interactions
    return grant


def _one(word: str, served: Collection[str]) -> tuple[str, frozenset[Interaction]]:
    shown = word[:80]
    if "?" in word:
        raise ScopeError(f"{shown}: scope queries are not supported")
    match = _SCOPE.fullmatch(word)
    if match is None:
        raise ScopeError(f"{shown}: only system scopes are granted here, such as "
                         "system/Patient.read or system/*.rs")
    type_name, what = match["type"], match["what"]
    if type_name != ANY_TYPE and type_name not in served:
        raise ScopeError(f"{shown}: {type_name} is not served (see /fhir/R4/metadata)")
    if what == _V1_READ:
        return type_name, READ_AND_SEARCH
    if what and _V2_READ_ONLY.fullmatch(what):
        return type_name, frozenset(
            i for letter, i in (("r", Interaction.READ), ("s", Interaction.SEARCH))
            if letter in what)
    raise ScopeError(f"{shown}: this server only reads; ask for .read, .rs, .r or .s")


def allows(grant: Grant, type_name: str, needed: Iterable[Interaction]) -> bool:
    """Does the grant give every interaction needed on this type?"""
    held = grant.get(type_name, frozenset()) | grant.get(ANY_TYPE, frozenset())
    return set(needed) <= held


def covers(allowed: Grant, asked: Grant) -> bool:
    """Is everything asked within what was allowed? (`*` asked needs `*` allowed.)"""
    return all(
        (allowed.get(ANY_TYPE, frozenset()) | allowed.get(name, frozenset())) >= interactions
        if name != ANY_TYPE else allowed.get(ANY_TYPE, frozenset()) >= interactions
        for name, interactions in asked.items())


def readable_types(grant: Grant, served: Iterable[str]) -> list[str]:
    """The served types the grant may read and search in full (what `$export` may write)."""
    return [name for name in served if allows(grant, name, READ_AND_SEARCH)]


def supported(served: Iterable[str]) -> list[str]:
    """The scopes to advertise in the SMART configuration."""
    names = [ANY_TYPE, *served]
    return [f"system/{name}.{suffix}" for name in names for suffix in ("read", "rs")]


SYSTEM_ACCESS_ATTR = "__ketaflow_system_access__"


def system_access(type_name: str | None, *needed: Interaction) -> Callable[[F], F]:
    """Declare what a FHIR route needs of a system token: `needed` on `type_name`, or (None)
    full read of at least one type, the route narrowing to those (`$export`). A route without
    it refuses system tokens; the route's staff permission is declared as before."""
    def mark(endpoint: F) -> F:
        setattr(endpoint, SYSTEM_ACCESS_ATTR, (type_name, frozenset(needed)))
        return endpoint

    return mark


def declared_access(endpoint: Callable[..., object]
                    ) -> tuple[str | None, frozenset[Interaction]] | None:
    value = getattr(endpoint, SYSTEM_ACCESS_ATTR, None)
    return value if isinstance(value, tuple) else None
