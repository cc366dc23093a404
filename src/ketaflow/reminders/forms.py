"""The reminder plan form: fields (all strings) into a `PlanInput`, every bad field reported
at once with its label."""

from __future__ import annotations

import re
from datetime import time

from ketaflow.errors import ValidationFailed
from ketaflow.jobs.models import Channel
from ketaflow.reminders.service import LABELS, PlanInput
from ketaflow.web import forms as web_forms

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
TIME_FIELDS = ("mood_at", "scales_at", "infusion_at", "quiet_start", "quiet_end")
SWITCHES = ("mood_enabled", "scales_enabled", "infusion_enabled")


def wall_time(form: web_forms.Form, name: str, label: str) -> time:
    """A 24-hour wall time as a time input sends it ("19:00"; seconds, if sent, ignored)."""
    raw = form.get(name, "")
    if not raw:
        raise ValidationFailed(f"{label} is required", field=name)
    match = _HH_MM.fullmatch(raw[:5]) if len(raw) in (5, 8) else None
    if match is None:
        raise ValidationFailed(f"{label} must be a time such as 19:00 (00:00 to 23:59)",
                               field=name)
    return time(int(match[1]), int(match[2]))


def parse_plan(form: web_forms.Form) -> PlanInput:
    with web_forms.collect_errors() as check:
        times = {name: check(wall_time, form, name, LABELS[name]) for name in TIME_FIELDS}
        counts = {name: check(web_forms.parse_whole_number, form.get(name, ""), name,
                              LABELS[name])
                  for name in ("scales_weekday", "repeat_every_h", "repeat_count")}
        channel = check(web_forms.choice, form, "channel", Channel, LABELS["channel"])
    return PlanInput(time_zone=form.get("time_zone", ""), channel=channel,
                     **{name: form.get(name) == "yes" for name in SWITCHES},
                     **times, **counts)
