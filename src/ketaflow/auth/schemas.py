"""What crosses the API boundary for staff accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.auth.security import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ketaflow.auth.service import USERNAME_PATTERN
from ketaflow.config import Role
from ketaflow.inputs import RequiredText, shown
from ketaflow.textcheck import CONTROLS_IN_TEXT

_C = CONTROLS_IN_TEXT
_PASSWORD = f"^[^\\s{_C}]([^{_C}]*[^\\s{_C}])?$"


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: Role
    is_active: bool
    mfa_enrolled: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # As stored (the service lower-cases and strips what it is given, then checks this).
    username: Annotated[str, shown(pattern=USERNAME_PATTERN.pattern)] = Field(
        min_length=3, max_length=64)
    full_name: RequiredText = Field(min_length=1, max_length=200)
    role: Role
    # No spaces at either end (`ketaflow.auth.security.password_problem`).
    password: Annotated[str, shown(pattern=_PASSWORD)] = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
