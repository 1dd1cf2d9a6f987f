"""A teacher cannot pass for a student unseen: a student's session remembers the invitation
it was opened with and who made it, every audit event of that session names them, a used
link says when it was used, and a new link ends every other session of the student. A
student may change his or her answer until the deadline (a refusal only while no re-run
has started since)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match.models import Account, Credential, CredentialKind, Role, Round
from mobility_match.models import Response as Answer
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.published import Published, publish_small_round

_LINK = re.compile(r"http://testserver(/invite/[A-Za-z0-9_-]+)")


def _invite(client: TestClient, headers: dict[str, str], student_id: str = "S-UK") -> str:
    """A new invitation of the student through the API; the path of its link."""
    made = client.post(f"/api/students/{student_id}/invitation", headers=headers)
    assert made.status_code == 201, made.text
    url: str = made.json()["url"]
    return url.removeprefix("http://testserver")


def _newest_invitation(engine: Engine) -> Credential:
    """The row of the invitation made last."""
    with Session(engine) as session:
        invitation = session.exec(
            select(Credential)
            .where(Credential.kind == CredentialKind.INVITATION)
            .order_by(col(Credential.id).desc())
        ).first()
        assert invitation is not None
        return invitation


def _account_id(engine: Engine, username: str) -> int:
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == username)).one()
        assert account.id is not None
        return account.id


def _events(client: TestClient, published: Published, action: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/audit?action={action}", headers=published.coordinator)
    assert found.status_code == 200, found.text
    events: list[dict[str, Any]] = found.json()
    return events


def _answer(client: TestClient, round_id: int, student: dict[str, str], decision: str) -> Any:
    return client.post(
        f"/api/rounds/{round_id}/assignments/S-UK/response",
        json={"decision": decision},
        headers=student,
    )


def _use_link(app: FastAPI, path: str) -> dict[str, str]:
    """Use a link through the API, as a script would; the bearer header of its session."""
    with TestClient(app) as other:
        used = other.post(path)
    assert used.status_code == 200, used.text
    return {"Authorization": f"Bearer {used.json()['token']}"}


def test_the_session_and_every_audit_event_of_it_name_the_invitation_and_its_maker(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """A teacher's link, used by the student, opens a session that records the invitation
    and the teacher; the sign-in and the answer given in it name both, in the API's audit
    log and on the coordinator's audit page; the teacher's page says who answered through
    which link, and that the link was used."""
    published = publish_small_round(engine, client)
    teacher_id = _account_id(engine, "teacher-a@example.org")
    path = _invite(client, published.teacher_a)
    invitation = _newest_invitation(engine)
    assert invitation.issued_by == teacher_id
    with browser(app) as student:
        follow(student, submit(student, f"{path}/accept", page=path))
        confirmed = submit(
            student,
            "/student/answer",
            {"decision": "confirm", "round_id": published.round_id},
            page="/student/answer?decision=confirm",
        )
        assert confirmed.status_code == 303
    with Session(engine) as session:
        opened = session.exec(
            select(Credential).where(Credential.invitation_id == invitation.id)
        ).one()
    assert opened.kind is CredentialKind.SESSION
    assert opened.issued_by == teacher_id
    origin = {
        "via_invitation": invitation.id,
        "invitation_issued_by": "teacher-a@example.org",
        "invitation_issuer_role": "teacher",
    }
    for action in ("accept_invitation", "assignment.confirm"):
        (event,) = _events(client, published, action)
        assert event["actor"] == "S-UK"
        assert origin.items() <= event["details"].items(), event
    # Sessions not opened with a link (staff) carry no such details.
    (created,) = _events(client, published, "invite_student")
    assert "via_invitation" not in created["details"]
    assert created["details"]["invitation"] == invitation.id

    with browser(app) as coordinator:
        new_signed_in(coordinator, engine, "coord.martin", Role.COORDINATOR)
        audit_page = text_of(coordinator.get("/coordinator/audit?action=assignment.confirm").text)
    assert (
        f"S-UK session ouverte avec l'invitation n° {invitation.id} "
        "faite par le professeur teacher-a@example.org"
    ) in audit_page
    with browser(app) as teacher:
        new_signed_in(teacher, engine, "t.dupont", Role.TEACHER, school_id="SCH-A")
        page = text_of(teacher.get("/teacher/students/S-UK").text)
    assert (
        f"Donnée par S-UK, connecté avec le lien n° {invitation.id} fait par teacher-a@example.org"
    ) in page
    assert f"Le dernier lien, n° {invitation.id}," in page
    assert "a déjà été utilisé le" in page
    assert "La session qu'il a ouverte est toujours ouverte" in page


def test_a_teacher_who_uses_the_link_is_named_and_the_new_link_signs_the_teacher_out(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The teacher who makes a link and uses it from his or her own browser is named in the
    audit log; the student then finds the link used, with the date; the new link the
    student asks for ends the session the teacher opened, and the old link stays refused."""
    published = publish_small_round(engine, client)
    with browser(app) as teacher, browser(app) as student:
        new_signed_in(teacher, engine, "t.dupont", Role.TEACHER, school_id="SCH-A")
        made = submit(teacher, "/teacher/students/S-UK/invitation", page="/teacher/students/S-UK")
        assert made.status_code == 200
        found = _LINK.search(made.text)
        assert found, made.text
        path = found.group(1)
        # The teacher uses the student's link: the browser now holds the student's session.
        used = submit(teacher, f"{path}/accept", page=path)
        assert used.headers["location"] == "/student"
        assert teacher.get("/student").status_code == 200
        (event,) = _events(client, published, "accept_invitation")
        assert event["details"]["browser_signed_in_as"] == "t.dupont"
        assert event["details"]["invitation_issued_by"] == "t.dupont"

        # The student opens the link: it says when it was used, and to ask for a new one.
        gone = student.get(path)
        assert gone.status_code == 410
        words = text_of(gone.text)
        assert "Ce lien a déjà été utilisé le" in words
        assert "Si ce n'était pas vous, quelqu'un d'autre a utilisé votre lien" in words
        assert "Demandez un nouveau lien à votre professeur" in words

        # A coordinator makes a new link: the session opened with the old one ends.
        new_path = _invite(client, published.coordinator)
        signed_out = teacher.get("/student")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/login")
        assert student.get(path).status_code == 410
        follow(student, submit(student, f"{new_path}/accept", page=new_path))
        assert "Bristol Traders Ltd" in text_of(student.get("/student").text)
    (invited,) = [
        e for e in _events(client, published, "invite_student") if e["actor"] != "t.dupont"
    ]
    assert invited["details"]["sessions_ended"] == 1


def test_a_new_invitation_ends_every_other_session_of_the_student_and_the_old_link(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Through the API: a student signed in with a link is signed out (401) once a new
    link is made; the old link, used or not, signs no one in (410)."""
    published = publish_small_round(engine, client)
    used_path = _invite(client, published.teacher_a)
    student = _use_link(app, used_path)
    assert client.get("/api/me/placements", headers=student).status_code == 200
    unused_path = _invite(client, published.teacher_a)
    assert client.get("/api/me/placements", headers=student).status_code == 401
    newest_path = _invite(client, published.teacher_a)
    for old in (used_path, unused_path):
        with TestClient(app) as other:
            refused = other.post(old)
        assert refused.status_code == 410
    with TestClient(app) as other:
        assert (
            other.post(used_path)
            .json()["detail"]
            .startswith("This invitation link is no longer valid: it was already used on ")
        )
    fresh = _use_link(app, newest_path)
    assert client.get("/api/me/placements", headers=fresh).status_code == 200


def test_a_student_changes_the_answer_until_the_deadline_and_not_after(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Confirmed, then declined, then confirmed again (the place is still held): each change
    is recorded and audited with what it replaced; the page shows the answer, its date and
    the way to change it; past the deadline a change is refused with the date."""
    published = publish_small_round(engine, client)
    student = _use_link(app, _invite(client, published.teacher_a))
    round_id = published.round_id
    for decision, answer in (
        ("confirm", "confirmed"),
        ("decline", "declined"),
        ("confirm", "confirmed"),
    ):
        recorded = _answer(client, round_id, student, decision)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["response"] == answer
    answered = sorted(
        _events(client, published, "assignment.confirm")
        + _events(client, published, "assignment.decline"),
        key=lambda event: int(event["id"]),
    )
    assert [e["details"].get("changed_from") for e in answered] == [None, "confirmed", "declined"]
    # The same answer again changes nothing and writes no event.
    assert _answer(client, round_id, student, "confirm").status_code == 200
    assert len(_events(client, published, "assignment.confirm")) == 2

    with browser(app) as page:
        path = _invite(client, published.teacher_a)
        follow(page, submit(page, f"{path}/accept", page=path))
        home = text_of(page.get("/student").text)
        assert "Vous avez confirmé ce stage" in home
        assert "Réponse donnée le" in home
        assert "Vous pouvez changer votre réponse jusqu'au" in home
        assert 'href="/student/answer?decision=decline"' in page.get("/student").text
        with Session(engine) as session:
            round_ = session.get_one(Round, round_id)
            round_.response_deadline = dt.date.today() - dt.timedelta(days=1)
            session.add(round_)
            session.commit()
        closed = page.get("/student").text
        assert "Le délai pour répondre est passé" in text_of(closed)
        assert "/student/answer?decision" not in closed
        student = {"Authorization": f"Bearer {page.cookies['mobility_match_session']}"}
    late = _answer(client, round_id, student, "decline")
    assert late.status_code == 422
    deadline = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert late.json()["problems"] == [
        f"The deadline to answer was {deadline}: your answer can no longer be given or "
        "changed; ask your teacher."
    ]
    placements = client.get("/api/me/placements", headers=student).json()
    assert placements[0]["assignment"]["response"] == Answer.CONFIRMED.value


def test_a_refusal_cannot_be_taken_back_once_a_rerun_started_since(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """After a refusal, a re-run of the round may give the freed place to someone else: from
    then on, accepting again is refused (422), and the page says why and offers no button."""
    published = publish_small_round(engine, client)
    with browser(app) as page:
        path = _invite(client, published.teacher_a)
        follow(page, submit(page, f"{path}/accept", page=path))
        declined = submit(
            page,
            "/student/answer",
            {"decision": "decline", "round_id": published.round_id},
            page="/student/answer?decision=decline",
        )
        assert "Vous avez refusé ce stage" in text_of(follow(page, declined).text)
        assert 'href="/student/answer?decision=confirm"' in page.get("/student").text
        assert "Accepter finalement ce stage" in text_of(page.get("/student").text)

        rerun = client.post(
            f"/api/rounds/{published.round_id}/rerun", json={}, headers=published.coordinator
        )
        assert rerun.status_code == 201, rerun.text
        home = page.get("/student").text
        assert 'href="/student/answer?decision=confirm"' not in home
        assert "Une nouvelle répartition des stages a été lancée depuis votre refus" in text_of(
            home
        )
        refused = submit(
            page,
            "/student/answer",
            {"decision": "confirm", "round_id": published.round_id},
            page="/student",
        )
    assert refused.status_code == 422
    assert f"round {rerun.json()['id']} (a re-run of this round)" in text_of(refused.text)
