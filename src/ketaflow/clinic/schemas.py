"""The clinic profile over the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ProfileIn(BaseModel):
    """A whole new version of the profile (PUT): omitted fields are cleared, except that the
    service refuses a profile without a name, and in production one without a crisis line."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=1000)
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64,
                                 description="IANA name, e.g. Europe/London")
    crisis_line: str | None = Field(default=None, max_length=200)
    national_line_country: str | None = Field(default=None, max_length=2,
                                              description="ISO 3166-1 alpha-2 of a listed line")
    national_line_custom: str | None = Field(default=None, max_length=200)
    after_hours: str | None = Field(default=None, max_length=1000)


class ProfileOut(BaseModel):
    version: int | None = Field(description="null: no profile saved yet")
    name: str | None
    address: str | None
    phone: str | None
    timezone: str | None
    timezone_in_force: str = Field(description="the profile's, else KETAFLOW_CLINIC_TIMEZONE")
    crisis_line: str | None
    national_line_country: str | None
    national_line_custom: str | None
    after_hours: str | None
    crisis_lines_configured: bool
    saved_at: datetime | None
    saved_by_user_id: int | None
