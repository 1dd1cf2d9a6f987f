"""The host tutor's end-of-placement review: the link mailed when a placement ends (in the
host's language, about that trainee only), its reminders, the page, single use and
expiry, and the answer as coordinators and teachers see it."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from mobility_match import records
from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.config import Settings
from mobility_match.domain import Country
from mobility_match.models import (
    Assignment,
    HostReview,
    OutboxMail,
    Response,
    Round,
    RoundStatus,
    SurveyLink,
    utcnow,
)
from mobility_match.services.host_review import (
    ReviewAnswers,
    Sent,
    send_host_reviews,
    submit_review,
)
from tests.factories import make_offer
from tests.pages import browser, csrf_token, text_of
from tests.published import publish_small_round


def _store_placements(engine: Engine, end: dt.date) -> int:
    """A published round (stored as a publication leaves it): a placement in Germany and
    one in Poland ending on `end`, one the student declined, one that ended long ago."""
    start = end - dt.timedelta(days=40)
    with Session(engine) as session:
        for offer in (
            make_offer("DE-1", contact_name="Jana Weber", contact_email="jana@zweig.example"),
            make_offer(
                "PL-1",
                country=Country.PL,
                city="Kraków",
                company_name="Krakowski Handel",
                contact_name="Anna Nowak",
                contact_email="anna@handel.example",
            ),
        ):
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        round_ = Round(name="Printemps", status=RoundStatus.PUBLISHED, published_at=utcnow())
        session.add(round_)
        session.flush()
        assert round_.id is not None
        for student_id, first, offer_id, country, response, ends in (
            ("S-DE", "Léa", "DE-1", "DE", Response.CONFIRMED, end),
            ("S-PL", "Chloé", "PL-1", "PL", Response.CONFIRMED, end),
            ("S-NO", "Hugo", "DE-1", "DE", Response.DECLINED, end),
            ("S-OLD", "Inès", "DE-1", "DE", Response.CONFIRMED, end - dt.timedelta(days=40)),
        ):
            session.add(
                Assignment(
                    round_id=round_.id,
                    student_id=student_id,
                    first_name=first,
                    last_name="Martin",
                    school_id="LP-A",
                    offer_id=offer_id,
                    company_name="Krakowski Handel" if country == "PL" else "Firma DE-1",
                    country=country,
                    city="Kraków" if country == "PL" else "Leipzig",
                    start_date=start,
                    end_date=ends,
                    response=response,
                )
            )
        session.commit()
        return round_.id


def _run(engine: Engine, settings: Settings, day: dt.date) -> Sent:
    with Session(engine) as session:
        return send_host_reviews(session, settings, day)


def _mails(engine: Engine) -> dict[str, OutboxMail]:
    with Session(engine) as session:
        return {mail.key: mail for mail in session.exec(select(OutboxMail))}


def _token(mail: OutboxMail) -> str:
    assert mail.link is not None
    return mail.link.rsplit("/", 1)[1]


def test_a_tutor_is_asked_once_in_the_host_language_and_reminded_at_3_and_10_days(
    engine: Engine, settings: Settings
) -> None:
    """When placements end, each tutor gets one link in the host's language about that
    trainee only; a second run writes nothing; unanswered, a reminder goes 3 and 10 days
    later, once each. Declined placements and those that ended long ago are not asked."""
    today = utcnow().date()
    round_id = _store_placements(engine, today)
    assert _run(engine, settings, today) == Sent(requests=2)
    assert _run(engine, settings, today) == Sent()
    mails = _mails(engine)
    assert set(mails) == {f"host_review:{round_id}:S-DE", f"host_review:{round_id}:S-PL"}
    german, polish = mails[f"host_review:{round_id}:S-DE"], mails[f"host_review:{round_id}:S-PL"]
    assert (german.language, german.recipient, german.audience) == (
        "de",
        "jana@zweig.example",
        "host",
    )
    assert "Guten Tag Jana Weber" in german.text_body
    assert "Léa Martin" in german.text_body
    assert "Chloé" not in german.text_body + german.html_body
    assert polish.language == "pl"
    assert "Chloé Martin" in polish.text_body
    assert "Léa" not in polish.text_body + polish.html_body
    assert german.link is not None
    assert german.link.startswith("http://testserver/review/")
    assert german.link not in german.text_body  # kept apart until delivery

    later = [
        _run(engine, settings, today + dt.timedelta(days=n)).reminders
        for n in (1, 2, 3, 3, 4, 9, 10, 10, 11, 30)
    ]
    assert later == [0, 0, 2, 0, 0, 0, 2, 0, 0, 0]
    reminder = _mails(engine)[f"host_review:{round_id}:S-DE:reminder:3"]
    assert reminder.language == "de"
    assert "Erinnerung" in reminder.subject
    with Session(engine) as session:
        links = session.exec(
            select(SurveyLink).where(SurveyLink.student_id == "S-DE").order_by(col(SurveyLink.id))
        ).all()
    assert len(links) == 3  # the request and two reminders, each with its own link
    assert links[0].reminders == 2
    assert len({link.token_hash for link in links}) == 3
    assert len({link.expires_at for link in links}) == 1  # a reminder does not extend it


def test_an_answered_review_gets_no_reminder(engine: Engine, settings: Settings) -> None:
    """Once the tutor answered, neither the 3-day nor the 10-day reminder goes."""
    today = utcnow().date()
    round_id = _store_placements(engine, today)
    _run(engine, settings, today)
    token = _token(_mails(engine)[f"host_review:{round_id}:S-DE"])
    with Session(engine) as session:
        submit_review(session, token, ReviewAnswers(days_absent=1, skills=("teamwork",)), today)
    assert _run(engine, settings, today + dt.timedelta(days=3)).reminders == 1  # S-PL only
    assert _run(engine, settings, today + dt.timedelta(days=10)).reminders == 1
    reminded = {key for key in _mails(engine) if ":reminder:" in key}
    assert reminded == {
        f"host_review:{round_id}:S-PL:reminder:3",
        f"host_review:{round_id}:S-PL:reminder:10",
    }


def test_the_review_page_is_single_use_expires_and_shows_a_comment_inert(
    app: FastAPI, engine: Engine, client: TestClient, settings: Settings
) -> None:
    """The page is in the host's language and uses nothing up on GET; a mistake is shown
    under its field; the answer uses up every link of the placement (410 after); an
    expired link answers 410, an unknown one 404; coordinators and the school's teacher see
    the review, a `<script>` in the comment shown as text."""
    published = publish_small_round(engine, client)
    assert _run(engine, settings, published.end).requests == 3
    _run(engine, settings, published.end + dt.timedelta(days=3))  # a reminder, a 2nd link
    mails = _mails(engine)
    rid = published.round_id
    token = _token(mails[f"host_review:{rid}:S-MINOR"])
    second = _token(mails[f"host_review:{rid}:S-MINOR:reminder:10"])
    with browser(app) as tutor:
        page = tutor.get(f"/review/{token}")
        assert page.status_code == 200
        assert 'lang="de"' in page.text
        assert page.headers["Cache-Control"] == "no-store"
        shown = text_of(page.text)
        assert "Beurteilung zum Praktikumsende" in shown
        assert "Inès D'Almeida" in shown
        assert "Hugo" not in shown
        assert "Chloé" not in shown
        assert "Fachliche Fertigkeiten des Berufs" in shown  # the skills, in German
        assert tutor.get(f"/review/{token}").status_code == 200  # a GET uses nothing up
        form = {"csrf_token": csrf_token(page.text), "actual_start": "", "actual_end": ""}
        wrong = tutor.post(f"/review/{token}", data={**form, "days_absent": "zwei"})
        assert wrong.status_code == 422
        assert "Geben Sie eine ganze Zahl von Tagen an" in text_of(wrong.text)
        comment = "<script>alert('x')</script> Sehr zuverlässig."
        answer = {
            **form,
            "days_absent": "2",
            "skills": ["teamwork", "safety"],
            "would_host_again": "yes",
            "comment": comment,
        }
        done = tutor.post(f"/review/{token}", data=answer)
        assert done.status_code == 200
        assert "Vielen Dank" in text_of(done.text)
        used = tutor.get(f"/review/{token}")
        assert used.status_code == 410
        assert "bereits am" in text_of(used.text)
        assert tutor.post(f"/review/{token}", data=answer).status_code == 410
        assert tutor.get(f"/review/{second}").status_code == 410  # the reminder's link too
        polish = _token(mails[f"host_review:{rid}:S-PL"])
        with Session(engine) as session:
            session.exec(
                update(SurveyLink)
                .where(col(SurveyLink.student_id) == "S-PL")
                .values(expires_at=utcnow() - dt.timedelta(minutes=1))
            )
            session.commit()
        expired = tutor.get(f"/review/{polish}")
        assert expired.status_code == 410
        assert "wygasł" in text_of(expired.text)
        assert tutor.get("/review/not-a-link").status_code == 404
    with Session(engine) as session:
        review = session.exec(select(HostReview)).one()
    assert (review.days_absent, review.would_host_again) == (2, True)
    assert review.skills == ["teamwork", "safety"]
    assert review.comment == comment
    for header, page_path in (
        (published.coordinator, f"/coordinator/rounds/{rid}/students/S-MINOR"),
        (published.teacher_a, "/teacher/students/S-MINOR"),
    ):
        with browser(app) as staff:
            staff.cookies.set(SESSION_COOKIE, header["Authorization"].removeprefix("Bearer "))
            seen = staff.get(page_path)
            assert seen.status_code == 200, page_path
            assert "Avis du tuteur ou de la tutrice en entreprise" in seen.text
            assert "Travail en équipe" in seen.text
            assert "&lt;script&gt;alert(" in seen.text
            assert "<script>alert(" not in seen.text
    with browser(app) as other:
        header = published.teacher_b
        other.cookies.set(SESSION_COOKIE, header["Authorization"].removeprefix("Bearer "))
        assert "Sehr zuverlässig" not in other.get("/teacher/students/S-PL").text
