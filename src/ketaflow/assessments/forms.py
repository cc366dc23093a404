"""Turning submitted form fields into answers, and the wording a form shows.

Form fields are named `item.<item id>` (portal forms with several instruments prefix the
instrument: `<instrument id>.<item id>`). A blank field is an unanswered item; the scoring core
then names it in its error. What was typed is kept to re-render the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.scales import Instrument, get_instrument
from ketaflow.scales.instruments import ScoringRule
from ketaflow.scales.wording import DisplayWording, WordingPack, display_wording
from ketaflow.web.forms import clinic_time_to_utc, parse_whole_number


@dataclass(frozen=True)
class FormItem:
    """One item as a form shows it: ids, wording, options and what was chosen."""

    field: str
    ref: str
    name: str
    text: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    chosen: str
    gated_by: str | None  # C-SSRS: the item ref that must be yes for this one to be asked

    @property
    def item_id(self) -> str:
        return self.field.split(".", 1)[1]

    @property
    def wide(self) -> bool:
        """Worded options (not bare numbers) are laid out as full-width choices."""
        return any(len(label) > 3 for _, label in self.options)


def form_items(instrument: Instrument, wording: DisplayWording, values: Mapping[str, str],
               prefix: str = "item") -> list[FormItem]:
    """The asked items with their options (fixed-by-rule items are shown but not asked)."""
    items = []
    for item, shown in zip(instrument.items, wording.items, strict=True):
        if not item.is_asked:
            continue
        field = f"{prefix}.{item.id}"
        gate = None if item.asked_if_yes is None else instrument.item(item.asked_if_yes).ref
        items.append(FormItem(
            field=field,
            ref=item.ref,
            name=item.name,
            text=shown.text,
            options=tuple((str(o.score), o.text) for o in shown.options),
            chosen=values.get(field, ""),
            gated_by=gate,
        ))
    return items


def answers_from_form(instrument_id: str, form: Mapping[str, str], prefix: str = "item"
                      ) -> dict[str, int | None]:
    """Answers keyed by item id; blank is None (unanswered), anything else must be a number."""
    instrument = get_instrument(instrument_id)
    answers: dict[str, int | None] = {}
    for item in instrument.asked_items:
        raw = (form.get(f"{prefix}.{item.id}") or "").strip()
        if not raw:
            # C-SSRS items left out by the skip logic stay absent; elsewhere scoring names them.
            if instrument.rule is not ScoringRule.RISK_LEVEL:
                answers[item.id] = None
            continue
        try:  # the one strict reading ("1e2", "١" and the like are not scores)
            answers[item.id] = parse_whole_number(raw, item.id, item.id)
        except ValidationFailed:
            raise ValidationFailed(f"{instrument.id} item {item.ref} ({item.id}) must be one of "
                                   "the listed options", field=item.id) from None
    return answers


def wording_for(instrument_id: str, packs: Mapping[str, WordingPack]) -> DisplayWording:
    return display_wording(instrument_id, packs.get(instrument_id))


def rated_at_from_form(value: str | None, zone: str, keep: datetime | None = None
                       ) -> datetime | None:
    """A rating date from the form, a day in the clinic's time zone `zone`: today means now;
    an earlier day is stored at 12:00 clinic time (so it stays that day in UTC too).

    `keep` is the time already recorded (amendments): the same day keeps that exact time.
    """
    text = (value or "").strip()
    if not text:
        return keep
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("rating date must be a date (YYYY-MM-DD)",
                               field="rated_on") from None
    tz = ZoneInfo(zone)
    if keep is not None and day == keep.astimezone(tz).date():
        return keep
    now = utcnow()
    today = now.astimezone(tz).date()
    if day == today:
        return now
    if day > today:
        raise ValidationFailed("rating date cannot be in the future", field="rated_on")
    return clinic_time_to_utc(datetime.combine(day, time(12)), zone, "rated_on", "rating date")
