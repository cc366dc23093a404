"""FHIR search parameters as SQLAlchemy filters over a resource type's row sources.

A resource type is built from one or more `Source`s (Observation from vitals, measurements,
scale totals and mood entries; AllergyIntolerance from allergies and "no known allergies"; a
source's frame may also be a literal table, as Questionnaire's scales). Each source gives
a frame, `SELECT row_id, updated FROM ...` with its joins and standing conditions, and a filter
per search parameter. A search ANDs the parameters (a comma inside one is OR), unions the
sources' frames, orders by last update and pages with a plain offset (`_offset`, at most
`COUNT_MAX` a page), so the database does the work and a page costs one query plus one per
source to load its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import QueryableAttribute, Session

from ketaflow.fhir import params
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.outcome import InvalidSearch
from ketaflow.fhir.params import DateRange, Token
from ketaflow.patients.search_text import query_words

Condition = ColumnElement[bool] | bool
# A mapped attribute or an expression: what filters are built over.
Column = ColumnElement[Any] | QueryableAttribute[Any]
Filter = Callable[[Sequence[Any]], Condition]
# Row ids are integers (table rows) or, for a source with `string_ids`, text (an instrument id:
# a Questionnaire is a definition in code, not a row).
RowId = int | str
Loader = Callable[[Session, Sequence[Any]], Mapping[Any, Resource]]
# One resource per plain row, in the rows' order. The session is for what a chunk of rows
# needs besides its columns (a patient's identifiers from other systems).
RowBuilder = Callable[[Session, Sequence[Row[Any]]], list[Resource]]


class Kind(StrEnum):
    """FHIR search parameter types (the ones served)."""

    TOKEN = "token"
    DATE = "date"
    REFERENCE = "reference"
    STRING = "string"
    URI = "uri"


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Kind
    documentation: str
    # For references: the resource type referred to (None: any type, `Type/id`), and the
    # prefix of its ids before the row id ("staff-" for a Practitioner).
    target: str | None = None
    id_prefix: str = ""
    # A date parameter over a calendar date (birth date): its days are read as written, in
    # no zone, since a birthday is not a moment.
    calendar: bool = False
    # For references to a type with canonical URLs (Questionnaire): the canonical base, so a
    # value may be the canonical (`<base>/<id>[|version]`) as well as `<Type>/<id>`.
    canonical: str | None = None


# Served for every type, with their meaning fixed by FHIR.
ID = Parameter("_id", Kind.TOKEN, "The resource id")
LAST_UPDATED = Parameter("_lastUpdated", Kind.DATE, "When the resource last changed")
# Controls that are not filters.
CONTROLS = frozenset({"_count", "_offset", "_include", "_format"})
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


@dataclass(frozen=True)
class Rows:
    """A source whose resources are built from plain rows (no ORM objects): the columns
    added to its frame, and the builder that reads them. The bulk export then reads each
    resource's columns in the frame's own streamed query, one query per type rather than one
    per chunk, and read and search load by the same select (`rows_loader`), so the three
    cannot drift apart. Column names must differ from the frame's `row_id` and `updated`."""

    columns: tuple[Column, ...]
    build: RowBuilder


def each(build: Callable[[Row[Any]], Resource]) -> RowBuilder:
    """A RowBuilder for resources that need nothing but their own row."""
    def build_all(_session: Session, rows: Sequence[Row[Any]]) -> list[Resource]:
        return [build(row) for row in rows]
    return build_all


def rows_loader(row: Column, base: Callable[[Select[Any]], Select[Any]], rows: Rows) -> Loader:
    """The loader (read and search) of a source with `Rows`: the same columns, by id."""
    def load(session: Session, ids: Sequence[Any]) -> Mapping[Any, Resource]:
        found = session.execute(base(select(row.label("row_id"), *rows.columns))
                                .where(row.in_(ids))).all()
        return dict(zip([r.row_id for r in found], rows.build(session, found), strict=True))
    return load


@dataclass(frozen=True)
class Source:
    """One kind of row a resource type is built from.

    FHIR ids are `prefix + row id + suffix` (e.g. "vitals-12-bp"), or `fixed_id` when the
    frame holds exactly one row (the clinic's Organization). With `string_ids` the row id is
    text (a scale's id, "phq9") and the FHIR id is that text between prefix and suffix."""

    key: str
    row: Column
    updated: Column
    # Adds the FROM, joins and standing conditions to a select of (row, updated).
    base: Callable[[Select[Any]], Select[Any]]
    load: Loader
    profile: str | None
    filters: Mapping[str, Filter] = field(default_factory=dict)
    prefix: str = ""
    suffix: str = ""
    fixed_id: str | None = None
    string_ids: bool = False
    # Set when the resources are built from plain rows (the loader is then `rows_loader`).
    rows: Rows | None = None

    def frame(self) -> Select[Any]:
        return self.base(select(self.row.label("row_id"), self.updated.label("updated")))

    def fhir_id(self, row_id: RowId) -> str:
        return self.fixed_id or f"{self.prefix}{row_id}{self.suffix}"

    def row_id(self, fhir_id: str) -> RowId | bool | None:
        """The row id a FHIR id names in this source, True for the fixed id, None if not ours."""
        if self.fixed_id is not None:
            return True if fhir_id == self.fixed_id else None
        if not (fhir_id.startswith(self.prefix) and fhir_id.endswith(self.suffix)):
            return None
        text = fhir_id[len(self.prefix):len(fhir_id) - len(self.suffix) or None]
        if self.string_ids:
            return text or None
        return int(text) if text.isdigit() and len(text) <= 18 else None


def with_meta(source: Source, row_id: RowId, updated: datetime, body: Resource) -> Resource:
    """resourceType, id and meta first (ours win over any the body carries), then the mapped
    body: the one shape read, search and `$export` give."""
    meta: Resource = {"lastUpdated": updated.isoformat(timespec="milliseconds")}
    if source.profile is not None:
        meta["profile"] = _profiles(source.profile)
    # One dict built in place (keys already present keep their place): the export makes one
    # of these per resource, and a copy and an update per resource showed in its profile.
    resource: Resource = {"resourceType": body["resourceType"], "id": None, "meta": None,
                          **body}
    resource["id"], resource["meta"] = source.fhir_id(row_id), meta
    return resource


_PROFILE_LISTS: dict[str, list[str]] = {}


def _profiles(profile: str) -> list[str]:
    """meta.profile: one list per profile, shared by every resource of it (never mutated:
    resources are encoded, not edited, once built)."""
    found = _PROFILE_LISTS.get(profile)
    if found is None:
        found = _PROFILE_LISTS[profile] = [profile]
    return found


@dataclass(frozen=True)
class Criterion:
    """One occurrence of a parameter: its values (OR)."""

    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    criteria: tuple[Criterion, ...]
    count: int
    offset: int
    includes: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    source: Source
    row_id: RowId
    updated: datetime


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    total: int


# ---------------------------------------------------------------- parsing


def plan(query: Sequence[tuple[str, str]], parameters: Mapping[str, Parameter],
         includes: frozenset[str], zone: tzinfo) -> Plan:
    """The search a query string asks for; an unknown parameter, modifier or value is refused
    (400) rather than ignored, so a client never takes an unfiltered answer for a filtered one."""
    criteria: list[Criterion] = []
    controls: dict[str, str] = {}
    asked_includes: list[str] = []
    for name, raw in query:
        if name == "_include":
            if raw not in includes:
                raise InvalidSearch(f"_include: supported here: {_listing(includes)}",
                                    field="_include")
            asked_includes.append(raw)
        elif name in CONTROLS:
            if name in controls:
                raise InvalidSearch(f"{name} may be given once", field=name)
            controls[name] = raw
        else:
            criteria.append(_criterion(name, raw, parameters, zone))
    if controls.get("_format", "json") not in JSON_FORMATS:
        raise InvalidSearch("_format: only JSON is served (application/fhir+json)",
                            field="_format")
    return Plan(tuple(criteria), params.parse_count(controls.get("_count")),
                params.parse_offset(controls.get("_offset")), tuple(asked_includes))


def _criterion(name: str, raw: str, parameters: Mapping[str, Parameter],
               zone: tzinfo) -> Criterion:
    base, _, modifier = name.partition(":")
    parameter = parameters.get(base)
    if parameter is None:
        raise InvalidSearch(f"{base}: not a search parameter of this type; supported: "
                            f"{_listing(parameters)}", field=base)
    if modifier:
        raise InvalidSearch(f"{name}: modifiers are not supported", field=name)
    if raw == "":
        raise InvalidSearch(f"{name}: a value is required", field=name)
    return Criterion(base, tuple(_value(parameter, part, zone) for part in raw.split(",")))


def _value(parameter: Parameter, raw: str, zone: tzinfo) -> Any:
    if parameter.kind is Kind.DATE:
        return params.parse_date(parameter.name, raw, UTC if parameter.calendar else zone)
    if parameter.kind is Kind.REFERENCE and parameter.canonical is not None:
        return params.parse_canonical(parameter.name, raw, parameter.target or "",
                                      parameter.canonical)
    if parameter.kind is Kind.REFERENCE:
        if parameter.target is None:
            return params.parse_any_reference(parameter.name, raw)
        return params.parse_reference(parameter.name, raw, parameter.target, parameter.id_prefix)
    if parameter.kind is Kind.TOKEN and parameter.name != ID.name:
        return params.parse_token(raw)
    if parameter.kind is Kind.STRING and not query_words(raw):
        raise InvalidSearch(f"{parameter.name}: give at least one letter or digit",
                            field=parameter.name)
    return raw


def _listing(names: Mapping[str, object] | frozenset[str]) -> str:
    return ", ".join(sorted(names))


# ---------------------------------------------------------------- running


def run(session: Session, sources: Sequence[Source], search: Plan) -> Page:
    """The page of hits the plan asks for, and how many match in all."""
    frames = []
    for index, source in enumerate(sources):
        conditions = _conditions(source, search.criteria)
        if conditions is None:
            continue  # this source cannot match (another category, another code)
        frames.append(source.frame().add_columns(literal(index).label("source"))
                      .where(*conditions))
    if not frames:
        return Page([], 0)
    matches = (frames[0] if len(frames) == 1 else union_all(*frames)).subquery()
    total = session.scalar(select(func.count()).select_from(matches)) or 0
    rows = session.execute(
        select(matches.c.source, matches.c.row_id, matches.c.updated)
        .order_by(matches.c.updated, matches.c.source, matches.c.row_id)
        .limit(search.count).offset(search.offset)).all()
    return Page([Hit(sources[s], row_id, updated) for s, row_id, updated in rows], total)


def _conditions(source: Source, criteria: Sequence[Criterion]
                ) -> list[ColumnElement[bool]] | None:
    found: list[ColumnElement[bool]] = []
    for criterion in criteria:
        condition = _condition(source, criterion)
        if condition is False:
            return None
        if condition is not True:
            assert not isinstance(condition, bool)
            found.append(condition)
    return found


def _condition(source: Source, criterion: Criterion) -> Condition:
    if criterion.name == ID.name:
        return _id_condition(source, criterion.values)
    if criterion.name == LAST_UPDATED.name:
        return date_filter(source.updated)(criterion.values)
    return source.filters[criterion.name](criterion.values)


def _id_condition(source: Source, values: Sequence[str]) -> Condition:
    ids = [source.row_id(value) for value in values]
    if any(found is True for found in ids):
        return True
    # (bool is an int: True, the fixed id, was handled above; False is never returned.)
    found_ids = [found for found in ids if isinstance(found, int | str)
                 and not isinstance(found, bool)]
    if not found_ids:
        return False
    return source.row.in_(found_ids)


# ---------------------------------------------------------------- filter builders


def date_filter(column: Column) -> Filter:
    def condition(values: Sequence[DateRange]) -> Condition:
        return or_(*(_date_condition(column, value) for value in values))
    return condition


def _date_condition(column: Column, value: DateRange) -> ColumnElement[bool]:
    if value.prefix == "lt":
        return column < value.start
    if value.prefix == "le":
        return column < value.end
    if value.prefix == "gt":
        return column >= value.end
    if value.prefix == "ge":
        return column >= value.start
    return and_(column >= value.start, column < value.end)


def day_filter(column: Column) -> Filter:
    """For a column holding a calendar date (birth date, whose parameter is `calendar`; a mood
    entry's day): the same prefixes over whole days (a value with a time stands for its day
    in the zone dates are read in)."""
    def condition(values: Sequence[DateRange]) -> Condition:
        return or_(*(_day_condition(column, value) for value in values))
    return condition


def _day_condition(column: Column, value: DateRange) -> ColumnElement[bool]:
    # The range's days where it was read (a mood entry's day is the clinic's calendar day).
    start, end = value.start.astimezone(value.zone), value.end.astimezone(value.zone)
    first = start.date()
    after = max(end.date() if end.time() == time() else end.date() + timedelta(days=1),
                first + timedelta(days=1))
    if value.prefix == "lt":
        return column < first
    if value.prefix == "le":
        return column < after
    if value.prefix == "gt":
        return column >= after
    if value.prefix == "ge":
        return column >= first
    return and_(column >= first, column < after)


def static_tokens(*codes: tuple[str, str]) -> Filter:
    """A source whose every row carries the same codes: it matches or it does not."""
    def condition(values: Sequence[Token]) -> Condition:
        return any(token.matches(system, code) for token in values for system, code in codes)
    return condition


def column_tokens(column: Column, system: str,
                  to_stored: Callable[[str], object] = str) -> Filter:
    """Codes stored in a column, all of one system."""
    def condition(values: Sequence[Token]) -> Condition:
        codes = [to_stored(t.code) for t in values
                 if t.code is not None and t.system in (None, system)]
        if any(t.code is None and t.system == system for t in values):
            return True
        return column.in_(codes) if codes else False
    return condition


def mapped_tokens(column: Column, codes: Mapping[tuple[str, str], object]) -> Filter:
    """Codes computed from a stored key (an instrument's LOINC from its id): the keys whose
    code matches."""
    def condition(values: Sequence[Token]) -> Condition:
        keys = sorted({str(key) for (system, code), key in codes.items()
                       if any(t.matches(system, code) for t in values)})
        return column.in_(keys) if keys else False
    return condition


def references(column: Column) -> Filter:
    """Ids given (a search) or a select of ids (a group-level export's members)."""
    def condition(values: Sequence[int] | Select[Any]) -> Condition:
        return column.in_(values if isinstance(values, Select) else list(values))
    return condition


def uri_equals(column: Column) -> Filter:
    """A uri parameter: the value matches exactly (FHIR's rule for uri search)."""
    def condition(values: Sequence[str]) -> Condition:
        return column.in_(list(values))
    return condition


def starts_with(column: Column) -> Filter:
    """FHIR's default string match: the value starts the text, ignoring case (ASCII names:
    a Questionnaire's computable name)."""
    def condition(values: Sequence[str]) -> Condition:
        return or_(*(func.lower(column).like(f"{_escaped(value.lower())}%", escape="\\")
                     for value in values))
    return condition


def no_match(_values: Sequence[Any]) -> Condition:
    return False


def name_words(column: Column) -> Filter:
    """Every word of the query starts a word of the folded name (as the patient list's search
    does, `ketaflow.patients.search_text`); a comma gives alternatives."""
    def condition(values: Sequence[str]) -> Condition:
        return or_(*(and_(*(column.like(f"% {_escaped(word)}%", escape="\\")
                            for word in query_words(value))) for value in values))
    return condition


def _escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

