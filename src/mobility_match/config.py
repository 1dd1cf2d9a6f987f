"""The service's settings, read once from the environment (prefix `MOBILITY_MATCH_`).

This is the only place that reads the environment. Development defaults (a
SQLite file in the working directory, demo accounts with printed passwords,
cookies without the Secure flag) are refused when `MOBILITY_MATCH_ENVIRONMENT`
is `production`: `Settings.check_production()` says which setting to change.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///mobility_match.db"


class ProductionRefused(RuntimeError):
    """A development default is still in use while the environment says production."""


class Settings(BaseSettings):
    """Everything the service can be told from outside; the defaults suit a laptop."""

    model_config = SettingsConfigDict(env_prefix="MOBILITY_MATCH_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; DATABASE_URL as on most hosts.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where the service is reached, for links in invitations.",
    )
    session_hours: float = Field(default=12.0, gt=0)
    invitation_days: float = Field(default=14.0, gt=0)
    login_attempts: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins of one username from one address in the window before "
        "each further attempt of that pair waits a growing delay (2, 4, 8 … seconds).",
    )
    login_client_attempts: int = Field(
        default=50,
        ge=1,
        description="Failed sign-ins from one address (all usernames) in the window before "
        "that address is refused until they fall below it.",
    )
    login_username_attempts: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins of one username (all addresses) in the window before "
        "addresses that never signed in to that account wait a growing delay.",
    )
    login_window_minutes: float = Field(default=15.0, gt=0)
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    solve_time_limit: float = Field(default=60.0, gt=0)
    lease_seconds: float = Field(default=30.0, gt=1)
    secure_cookies: bool = False
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (comma-separated, or *): the client "
        "address the sign-in limit counts is the one they pass on.",
    )
    templates_dir: Path | None = Field(
        default=None,
        description="A folder whose files replace the packaged templates of the same name "
        "(e.g. documents/letterhead.html for a school's own letterhead).",
    )
    checklists_dir: Path | None = Field(
        default=None,
        description="A folder whose common.toml, DE.toml, PL.toml or UK.toml replace the "
        "packaged checklist data.",
    )

    retention_days_after_cohort_end: int = Field(
        default=1095,
        ge=1,
        description="Days a student's data are kept after the end of his or her cohort (the "
        "last placement of the rounds he or she was in); `mobility-match retention` erases "
        "them then. Three years by default: see docs/record-of-processing.md.",
    )

    def check_production(self, *, demo: bool = False) -> None:
        """Refuse to serve production with a development default; name the setting to set."""
        if self.environment != "production":
            return
        problems = []
        if self.database_url == DEFAULT_DATABASE_URL:
            problems.append("set DATABASE_URL: the default SQLite file is for development")
        if not self.secure_cookies:
            problems.append("set MOBILITY_MATCH_SECURE_COOKIES=true: sessions need HTTPS cookies")
        if not self.public_url.startswith("https://"):
            problems.append("set MOBILITY_MATCH_PUBLIC_URL to the service's https:// address")
        if demo:
            problems.append("--demo creates accounts with known passwords: not in production")
        if problems:
            raise ProductionRefused("; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()
