"""One row per change of a clinic setting. Rows are only ever added: a later change, or a reset
to the default, is a new row, so what was in force at any moment can always be recomputed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketaflow.auth.models import StaffUser
from ketaflow.db import Base, utcnow


class SettingChange(Base):
    __tablename__ = "setting_changes"
    __table_args__ = (
        Index("ix_setting_changes_effective_from", "effective_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The settings group (`ketaflow.settings.service.GROUPS`) and the dataclass field name.
    group_key: Mapped[str] = mapped_column(String(32))
    setting_name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    # True when the change put the setting back to its shipped default.
    is_reset: Mapped[bool] = mapped_column(default=False)
    effective_from: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    changed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[StaffUser | None] = relationship(lazy="raise")


class SettingChangeImmutableError(RuntimeError):
    """A stored setting change was about to be altered or deleted: make a new change instead."""


@event.listens_for(SettingChange, "before_update")
@event.listens_for(SettingChange, "before_delete")
def _refuse_rewrite(_mapper: Any, _connection: Any, target: SettingChange) -> None:
    raise SettingChangeImmutableError(
        f"setting change {target.id} is never altered: record a new change (or a reset)")
