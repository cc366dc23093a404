"""Clinic settings that carry their source: the one pattern every threshold in ketaflow uses.

Everything driving an alert, a hold, an eligibility decision or a discharge is a clinic setting
with a default, shown with its source (see docs/clinical-sources.md). Each settings class is a
frozen dataclass whose fields are declared with `setting(default, source, label)`; `describe()`
lists them for the settings page and `source_of()` quotes one in a finding. Stdlib only, so the
pure cores (scales, clinical, infusion rules) can all use it.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields, is_dataclass
from typing import Any


def setting(default: float, source: str, label: str, *, minimum: float, maximum: float,
            ref: str) -> Any:
    """A dataclass field whose metadata holds where the default comes from, how to label it, the
    bounds an admin may set it within (inclusive) and its entry in docs/clinical-sources.md
    (`ref` is the anchor there, without the `#`)."""
    return field(default=default, metadata={"source": source, "label": label, "minimum": minimum,
                                            "maximum": maximum, "ref": ref})


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the UI shows it."""

    name: str
    label: str
    value: float
    default: float
    source: str
    minimum: float
    maximum: float
    ref: str


def _sourced_fields(settings: Any) -> tuple[Field[Any], ...]:
    if not is_dataclass(settings):
        raise TypeError("settings must be a dataclass declared with setting()")
    return tuple(spec for spec in fields(settings) if "source" in spec.metadata)


def describe(settings: Any) -> tuple[SettingInfo, ...]:
    """Every setting with its label, current value, default and source, in declaration order."""
    return tuple(
        SettingInfo(
            spec.name,
            spec.metadata["label"],
            getattr(settings, spec.name),
            _default(spec),
            spec.metadata["source"],
            spec.metadata["minimum"],
            spec.metadata["maximum"],
            spec.metadata["ref"],
        )
        for spec in _sourced_fields(settings)
    )


def _default(spec: Field[Any]) -> float:
    default = spec.default
    if not isinstance(default, int | float):  # setting() gives one; a plain field() may not
        raise TypeError(f"setting {spec.name} has no default")
    return default


def source_of(settings: Any, name: str) -> str:
    """The source string of one setting (settings class or instance)."""
    for spec in _sourced_fields(settings):
        if spec.name == name:
            return str(spec.metadata["source"])
    raise KeyError(name)


_RANGE_WORDS = {None: "an integer", 0: "a non-negative integer", 1: "a positive whole number"}


def require_whole_numbers(settings: Any, *, minimum: int | None = None,
                          fractional: frozenset[str] = frozenset()) -> None:
    """Refuse non-integers (bool is an int subclass: a True threshold is a bug, not a 1).
    Settings named in `fractional` are quantities (mg), checked by their class instead."""
    expected = _RANGE_WORDS.get(minimum, f"a whole number of at least {minimum}")
    for spec in _sourced_fields(settings):
        if spec.name in fractional:
            continue
        value = getattr(settings, spec.name)
        too_small = minimum is not None and isinstance(value, int) and value < minimum
        if not isinstance(value, int) or isinstance(value, bool) or too_small:
            raise ValueError(f"setting {spec.name} must be {expected}")
