"""What crosses the JSON API boundary for clinic settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from ketaflow.inputs import RequiredText, one_of
from ketaflow.settings.models import SettingChange
from ketaflow.settings.service import (
    GROUPS,
    REASON_MAX_LENGTH,
    HistoryEntry,
    SettingsGroup,
)
from ketaflow.sourced import SettingInfo


class SettingOut(BaseModel):
    name: str
    label: str
    value: float
    default: float
    minimum: float = Field(description="lowest value an admin may set (inclusive)")
    maximum: float = Field(description="highest value an admin may set (inclusive)")
    source: str
    ref: str = Field(description="anchor of its entry in /sources (docs/clinical-sources.md)")

    @classmethod
    def of(cls, info: SettingInfo) -> SettingOut:
        return cls(name=info.name, label=info.label, value=info.value, default=info.default,
                   minimum=info.minimum, maximum=info.maximum, source=info.source, ref=info.ref)


class SettingsGroupOut(BaseModel):
    key: str
    title: str
    purpose: str
    settings: list[SettingOut]

    @classmethod
    def of(cls, group: SettingsGroup) -> SettingsGroupOut:
        return cls(key=group.key, title=group.title, purpose=group.purpose,
                   settings=[SettingOut.of(s) for s in group.settings])


class SettingsInForceOut(BaseModel):
    at: datetime
    groups: list[SettingsGroupOut]


class SettingChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: Annotated[str, one_of(group.key for group in GROUPS)]
    name: Annotated[str, Field(max_length=64)]
    # Within the setting's bounds (stated in GET /settings/clinical); a whole number for an
    # integer setting. Omitted when `reset` is true.
    value: StrictInt | StrictFloat | None = None
    reset: bool = Field(default=False, description="put the setting back to its default")
    effective_from: AwareDatetime | None = Field(
        default=None, description="when the change takes effect (default: now); not in the "
        "past by more than 5 minutes")
    reason: RequiredText = Field(max_length=REASON_MAX_LENGTH)


class SettingChangeOut(BaseModel):
    id: int
    group: str
    name: str
    value: float
    is_reset: bool
    effective_from: datetime
    reason: str
    changed_by_user_id: int | None
    changed_at: datetime

    @classmethod
    def of(cls, change: SettingChange) -> SettingChangeOut:
        return cls(id=change.id, group=change.group_key, name=change.setting_name,
                   value=change.value, is_reset=change.is_reset,
                   effective_from=change.effective_from, reason=change.reason,
                   changed_by_user_id=change.changed_by_user_id, changed_at=change.changed_at)


class HistoryEntryOut(BaseModel):
    id: int
    group_title: str
    name: str
    label: str
    old_value: float
    new_value: float
    is_reset: bool
    effective_from: datetime
    changed_at: datetime
    changed_by: str
    reason: str
    scheduled: bool

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryOut:
        return cls(id=entry.id, group_title=entry.group_title, name=entry.setting_name,
                   label=entry.label, old_value=entry.old_value, new_value=entry.new_value,
                   is_reset=entry.is_reset, effective_from=entry.effective_from,
                   changed_at=entry.changed_at, changed_by=entry.changed_by,
                   reason=entry.reason, scheduled=entry.scheduled)
