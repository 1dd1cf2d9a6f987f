"""The service's settings, read once from the environment (prefix `MOBILITY_MATCH_`).

This is the only place that reads the environment. Development defaults (a
SQLite file in the working directory, demo accounts with printed passwords,
cookies without the Secure flag) are refused when `MOBILITY_MATCH_ENVIRONMENT`
is `production`: `Settings.check_production()` says which setting to change.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///mobility_match.db"
DEVELOPMENT_PSEUDONYM_KEY = "development pseudonym key"
"""The evaluation's pseudonym key on a laptop; production refuses it."""


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

    programme_name: str = Field(
        default="mobility_match",
        max_length=200,
        description="The programme's name, as mails to students and teachers give it.",
    )
    smtp_host: str = Field(
        default="",
        description="The SMTP server mails go through; empty: mails are written as .eml "
        "files to mail_dir instead.",
    )
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Default 25, 587 (starttls) or 465 (tls)."
    )
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = Field(
        default="mobility_match <no-reply@localhost>",
        description="The From of every mail: a name and an address of the programme.",
    )
    mail_dir: Path | None = Field(
        default=None,
        description="Where mails are written as .eml files when no SMTP host is set "
        "(default: out/mail under the working directory).",
    )
    mail_in_service: bool | None = Field(
        default=None,
        description="Deliver mail (and write the daily reminders) from a thread of the "
        "service. Unset: yes on SQLite; on PostgreSQL `mobility-match worker` processes do "
        "it. False when `mobility-match send-mail` runs from cron instead.",
    )
    mail_poll_seconds: float = Field(default=5.0, gt=0)
    jobs_in_service: bool | None = Field(
        default=None,
        description="Run the document jobs (a school's ZIP) on threads of the service. Unset: "
        "yes on SQLite; on PostgreSQL they go to a task queue that `mobility-match worker` "
        "processes serve.",
    )
    render_processes: int = Field(
        default=0,
        ge=0,
        description="Processes that render the PDFs of a documents ZIP side by side "
        "(WeasyPrint holds the GIL); 0: one per core, 1: in the process that builds it.",
    )
    worker_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often a worker says it is alive; the jobs of a worker silent for "
        "three beats are run again by another.",
    )

    retention_days_after_cohort_end: int = Field(
        default=1095,
        ge=1,
        description="Days a student's data are kept after the end of his or her cohort (the "
        "last placement of the rounds he or she was in); `mobility-match retention` erases "
        "them then. Three years by default: see docs/record-of-processing.md.",
    )
    host_review_link_days: int = Field(
        default=60,
        ge=1,
        description="Days the link of a host tutor's end-of-placement review works after the "
        "placement's end was mailed (reminders follow after 3 and 10 days).",
    )
    evaluation_end: dt.date | None = Field(
        default=None,
        description="The day the evaluation of the programme ends (YYYY-MM-DD); unset: the "
        "evaluation is going on and `mobility-match evaluation-retention` changes nothing.",
    )
    evaluation_retention_months: int = Field(
        default=24,
        ge=0,
        description="Months after evaluation_end when the evaluated cohorts' personal data "
        "are erased and their answers kept under pseudonyms (evaluation-retention).",
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PSEUDONYM_KEY),
        description="The key of the keyed hash (HMAC-SHA-256) that makes the evaluation's "
        "pseudonyms; never stored with the data. Set MOBILITY_MATCH_PSEUDONYM_KEY.",
    )

    follow_up_months: str = Field(
        default="6,12",
        pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$",
        description="The waves of the graduates' follow-up: months after the diploma, "
        "comma-separated.",
    )
    diploma_day: str = Field(
        default="07-05",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
        description="The day of the diploma in the cohort's year (MM-DD): waves count from it.",
    )
    follow_up_link_days: int = Field(
        default=30, ge=1, description="Days a follow-up link works after it was last mailed."
    )
    follow_up_reminder_days: str = Field(
        default="7,14",
        pattern=r"^\s*(\d{1,3}(\s*,\s*\d{1,3})*)?\s*$",
        description="Days after the follow-up request when non-respondents are reminded "
        "(comma-separated; empty: no reminder).",
    )

    @property
    def follow_up_waves(self) -> tuple[int, ...]:
        """The follow-up's waves, in months after the diploma, in order."""
        return tuple(sorted({int(part) for part in self.follow_up_months.split(",")}))

    @property
    def follow_up_reminders(self) -> tuple[int, ...]:
        """Days after a follow-up request when its reminders go, in order."""
        parts = [part for part in self.follow_up_reminder_days.split(",") if part.strip()]
        return tuple(sorted({int(part) for part in parts}))

    evaluation_min_count: int = Field(
        default=10,
        ge=1,
        description="The fewest answers (or graduates) a rate of the evaluation is shown for; "
        "below it the indicators say 'not enough answers'.",
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
        problems.extend(self._mail_problems())
        if self.pseudonym_key.get_secret_value() == DEVELOPMENT_PSEUDONYM_KEY:
            problems.append(
                "set MOBILITY_MATCH_PSEUDONYM_KEY to a random secret of at least 32 characters: "
                "the development key would let anyone recompute the evaluation's pseudonyms"
            )
        elif len(self.pseudonym_key.get_secret_value()) < 32:
            problems.append(
                "set MOBILITY_MATCH_PSEUDONYM_KEY to at least 32 characters: a short key can "
                "be guessed"
            )
        if demo:
            problems.append("--demo creates accounts with known passwords: not in production")
        if problems:
            raise ProductionRefused("; ".join(problems))

    def _mail_problems(self) -> list[str]:
        """A production service must reach people: an SMTP server, or a folder chosen on
        purpose (another program sends its files); never a password in clear."""
        if not self.smtp_host:
            if self.mail_dir is None:
                return [
                    "set MOBILITY_MATCH_SMTP_HOST (or MOBILITY_MATCH_MAIL_DIR, if another "
                    "program sends the .eml files written there): mails would go nowhere"
                ]
            return []
        problems = []
        if self.smtp_security == "none" and self.smtp_password.get_secret_value():
            problems.append(
                "set MOBILITY_MATCH_SMTP_SECURITY to starttls or tls: the SMTP password would "
                "cross the network in clear"
            )
        if self.mail_from.endswith("@localhost>") or self.mail_from.endswith("@localhost"):
            problems.append("set MOBILITY_MATCH_MAIL_FROM to an address of the programme")
        return problems

    @property
    def mails_from_service(self) -> bool:
        """Whether the service itself delivers mail and writes the daily reminders."""
        return self._in_service(self.mail_in_service)

    @property
    def jobs_from_service(self) -> bool:
        """Whether the service runs the document jobs itself (else through the task queue)."""
        return self._in_service(self.jobs_in_service)

    def _in_service(self, setting: bool | None) -> bool:
        """Background work in the service's own threads: as set, else on SQLite only (on
        PostgreSQL, `mobility-match worker` processes do it)."""
        return setting if setting is not None else self.database_url.startswith("sqlite")

    @property
    def mail_folder(self) -> Path:
        """Where mails are written as .eml files when no SMTP host is set."""
        return self.mail_dir if self.mail_dir is not None else Path("out") / "mail"

    @property
    def smtp_port_used(self) -> int:
        """The SMTP port: the one set, else the usual one of the security chosen."""
        if self.smtp_port is not None:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()
