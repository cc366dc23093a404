"""The reminder plan form: fields (all strings) into a `PlanInput`, every bad field reported
at once with its label."""

from __future__ import annotations

import re
from datetime import time

from ketaflow.errors import ValidationFailed
from ketaflow.jobs.models import Channel
from ketaflow.reminders.service import LABELS, PlanInput, check_plan
from ketaflow.web import forms as web_forms

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


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
    def at(name: str) -> time:
        return check(wall_time, form, name, LABELS[name])

    def whole(name: str) -> int:
        return check(web_forms.parse_whole_number, form.get(name, ""), name, LABELS[name])

    with web_forms.collect_errors() as check:
        data = PlanInput(
            time_zone=form.get("time_zone", ""),
            channel=check(web_forms.choice, form, "channel", Channel, LABELS["channel"]),
            mood_enabled=form.get("mood_enabled") == "yes", mood_at=at("mood_at"),
            scales_enabled=form.get("scales_enabled") == "yes",
            scales_weekday=whole("scales_weekday"), scales_at=at("scales_at"),
            infusion_enabled=form.get("infusion_enabled") == "yes", infusion_at=at("infusion_at"),
            repeat_every_h=whole("repeat_every_h"), repeat_count=whole("repeat_count"),
            quiet_start=at("quiet_start"), quiet_end=at("quiet_end"))
        check(check_plan, data, sms_sender=False)  # ranges too: every problem at once
    return data
