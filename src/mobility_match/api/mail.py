"""Routes of the mails: those sent to the signed-in person, and a round's delivery state
(coordinators), so that nobody left unreached goes unseen."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mobility_match.api.deps import Coordinator, ReadSessionDep, ViewerDep
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.models import MailStatus, OutboxMail
from mobility_match.services import mail
from mobility_match.services.rounds import get_round

router = APIRouter(tags=["mail"], responses=SIGNED_IN)


class MailPublic(BaseModel):
    """A mail as its recipient or a coordinator may see it: never the link it carries."""

    id: int
    kind: str
    audience: str = Field(description="student, guardian, teacher, coordinator or partner")
    recipient: str
    recipient_name: str
    language: str
    subject: str
    status: MailStatus
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str = Field(description="The mail server's last refusal, if any.")
    round_id: int | None
    student_id: str | None

    @classmethod
    def of(cls, row: OutboxMail) -> MailPublic:
        return cls(
            id=row.id or 0,
            kind=row.kind,
            audience=row.audience,
            recipient=row.recipient,
            recipient_name=row.recipient_name,
            language=row.language,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            created_at=row.created_at,
            sent_at=row.sent_at,
            last_error=row.last_error,
            round_id=row.round_id,
            student_id=row.student_id,
        )


class MyMails(BaseModel):
    address: str | None = Field(
        description="Where the service mails you; null when it cannot (no e-mail address)."
    )
    mails: list[MailPublic] = Field(description="The latest mails to you, newest first.")


class RoundDeliveryPublic(BaseModel):
    queued: int = Field(description="Mails waiting to be sent, or to be tried again.")
    sent: int = Field(description="Mails the mail server accepted.")
    failed: int = Field(description="Mails that could not be delivered, for good.")
    not_mailed: int = Field(description="Students of the round without an e-mail address.")
    failures: list[MailPublic] = Field(description="Who was not reached, and why.")


@router.get("/api/me/mails")
def my_mails(session: ReadSessionDep, viewer: ViewerDep, limit: int = 50) -> MyMails:
    """The mails the service sent (or is sending) to you, newest first (at most `limit`,
    200 at most)."""
    rows = mail.my_mails(session, viewer, limit=max(1, min(limit, 200)))
    return MyMails(
        address=mail.mail_address(session, viewer), mails=[MailPublic.of(row) for row in rows]
    )


@router.get("/api/rounds/{round_id}/mails", responses=responses(404))
def round_mails(round_id: int, session: ReadSessionDep, viewer: Coordinator) -> RoundDeliveryPublic:
    """The delivery state of a round's mails: how many in each state, and each mail that
    could not be delivered (to reach those people another way)."""
    get_round(session, viewer, round_id)
    delivery = mail.round_delivery(session, viewer, round_id)
    return RoundDeliveryPublic(
        queued=delivery.counts[MailStatus.QUEUED],
        sent=delivery.counts[MailStatus.SENT],
        failed=delivery.counts[MailStatus.FAILED],
        not_mailed=delivery.not_mailed,
        failures=[MailPublic.of(row) for row in delivery.failed],
    )
