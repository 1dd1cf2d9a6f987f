"""The student's pages, driven as a browser without JavaScript: the invitation link, the
placement and its answer, the checklist, his or her own PDFs, "why this placement"."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match import records
from mobility_match.domain import Country, Gender
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    PlacementDocument,
    Response,
    Role,
    Round,
    School,
    SchoolKind,
)
from tests.accounts import add_account, add_school, session_headers
from tests.factories import make_offer, make_student, need
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.programme import wait_for_round
from tests.published import publish_small_round


def _invite(client: TestClient, headers: dict[str, str], student_id: str) -> str:
    """A new invitation link of the student, made through the API; its path."""
    response = client.post(f"/api/students/{student_id}/invitation", headers=headers)
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url.removeprefix("http://testserver")


def _add_student(engine: Engine, student_id: str, school_id: str) -> None:
    """A school and one of its students, in no round yet."""
    add_school(engine, school_id)
    with Session(engine) as session:
        session.add(records.student_row(make_student(student_id, school_id=school_id)))
        session.commit()


def _answer_of(engine: Engine, student_id: str) -> Response | None:
    with Session(engine) as session:
        row = session.exec(select(Assignment).where(Assignment.student_id == student_id)).one()
        return row.response


def test_the_invitation_page_uses_nothing_up_and_its_button_signs_in_once(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Opening the link shows the first name and one button, as often as one likes, and
    sends no referrer and is never cached; the button signs in and leads to the student's
    page; afterwards the link shows the friendly 410 page and signs in no one."""
    published = publish_small_round(engine, client)
    path = _invite(client, published.coordinator, "S-UK")
    with browser(app) as student:
        for _ in range(2):
            page = student.get(path)
            assert page.status_code == 200
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
            text = text_of(page.text)
            assert "Bonjour Hugo" in text
            assert "Accéder à mon espace" in text
            assert "ne sert qu'une seule fois" in text
        signed_in = submit(student, f"{path}/accept", page=path)
        assert signed_in.headers["location"] == "/student"
        assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
        home = follow(student, signed_in)
        assert home.status_code == 200
        assert "Bristol Traders Ltd" in text_of(home.text)
    with browser(app) as other:
        gone = other.get(path)
        assert gone.status_code == 410
        assert gone.headers["referrer-policy"] == "no-referrer"
        assert "Demandez un nouveau lien à votre professeur" in text_of(gone.text)
        again = submit(other, f"{path}/accept", page="/")
        assert again.status_code == 410
        assert "mobility_match_session" not in other.cookies
        unknown = other.get("/invite/not-a-real-link")
        assert unknown.status_code == 404
        assert "Demandez un nouveau lien" in text_of(unknown.text)


def test_the_invitation_page_prints_a_name_with_markup_as_text(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """A first name holding markup is shown inert on the invitation page."""
    published = publish_small_round(engine, client, minor_first_name='"><img src=x onerror=a>')
    path = _invite(client, published.coordinator, "S-MINOR")
    with browser(app) as student:
        page = student.get(path)
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=a&gt;" in page.text


def test_the_student_page_shows_the_placement_the_tutor_a_map_link_and_the_deadline(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The student's page shows the company, city and country, address, dates and weeks,
    the tutor with his or her e-mail, an OpenStreetMap search link and the deadline."""
    publish_small_round(engine, client)
    with browser(app) as student:
        new_signed_in(student, engine, "chloe", Role.STUDENT, student_id="S-PL")
        page = student.get("/student")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = text_of(page.text)
    for expected in (
        "Krakowski Handel Sp. z o.o.",
        "Kraków, Pologne",
        "ul. Długa 3, 31-147 Kraków",
        "Anna Nowak",
        "6 semaines",
        "En attente de votre réponse",
        "Vous pouvez répondre jusqu'au",
    ):
        assert expected in text, expected
    assert 'href="https://www.openstreetmap.org/search?query=ul.+D%C5%82uga+3' in page.text
    assert "<script" not in page.text.split("</head>", 1)[1]


def test_a_student_of_no_published_round_is_told_the_results_are_not_out(
    app: FastAPI, engine: Engine
) -> None:
    """Before any publication the page and "why" say the results are not out yet."""
    _add_student(engine, "S-NONE", "SCH-A")
    with browser(app) as student:
        new_signed_in(student, engine, "early", Role.STUDENT, student_id="S-NONE")
        home = text_of(student.get("/student").text)
        why = text_of(student.get("/student/why").text)
        checklist = text_of(student.get("/student/checklist").text)
    assert "Les résultats ne sont pas encore publiés" in home
    assert "Les résultats ne sont pas encore publiés" in why
    assert "pas encore de liste de préparation" in checklist


def test_confirming_goes_through_a_confirmation_step_and_records_the_answer(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The placement page only links to the confirmation step (no form answers at once);
    the step explains and posts; the answer is recorded and shown. Declining later frees
    the place, and the refusal can be taken back while no re-run has started since."""
    publish_small_round(engine, client)
    with browser(app) as student:
        new_signed_in(student, engine, "hugo", Role.STUDENT, student_id="S-UK")
        home = student.get("/student").text
        assert 'href="/student/answer?decision=confirm"' in home
        assert 'action="/student/answer"' not in home
        step = student.get("/student/answer?decision=confirm")
        assert step.status_code == 200
        assert "vous vous engagez à partir en stage" in text_of(step.text)
        assert _answer_of(engine, "S-UK") is Response.PENDING
        confirmed = submit(
            student,
            "/student/answer",
            {"decision": "confirm", "round_id": _round_of(engine, "S-UK")},
        )
        page = text_of(follow(student, confirmed).text)
        assert "Merci : votre stage est confirmé" in page
        assert "Vous avez confirmé ce stage" in page
        assert _answer_of(engine, "S-UK") is Response.CONFIRMED

        decline_step = text_of(student.get("/student/answer?decision=decline").text)
        assert "la place est libérée pour un autre élève" in decline_step
        declined = submit(
            student,
            "/student/answer",
            {"decision": "decline", "round_id": _round_of(engine, "S-UK")},
        )
        assert "Vous avez refusé ce stage" in text_of(follow(student, declined).text)
        assert _answer_of(engine, "S-UK") is Response.DECLINED
        taken_back = submit(
            student,
            "/student/answer",
            {"decision": "confirm", "round_id": _round_of(engine, "S-UK")},
        )
        assert "Vous avez confirmé ce stage" in text_of(follow(student, taken_back).text)
    assert _answer_of(engine, "S-UK") is Response.CONFIRMED


def _round_of(engine: Engine, student_id: str) -> int:
    with Session(engine) as session:
        row = session.exec(select(Assignment).where(Assignment.student_id == student_id)).one()
        return row.round_id


def test_after_the_deadline_the_answer_is_closed(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Past the deadline the page says the time to answer is over and offers no answer."""
    published = publish_small_round(engine, client)
    with Session(engine) as session:
        round_ = session.get_one(Round, published.round_id)
        round_.response_deadline = dt.date.today() - dt.timedelta(days=1)
        session.add(round_)
        session.commit()
    with browser(app) as student:
        new_signed_in(student, engine, "hugo", Role.STUDENT, student_id="S-UK")
        home = student.get("/student")
        step = student.get("/student/answer?decision=confirm")
    assert "Le délai pour répondre est passé" in text_of(home.text)
    assert "/student/answer?decision" not in home.text
    assert 'action="/student/answer"' not in step.text


def test_the_student_ticks_own_steps_and_sees_the_others_read_only(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Own steps have a button that ticks and unticks them; steps of the teacher have
    none and say who does them; overdue steps are marked in words."""
    publish_small_round(engine, client)
    with Session(engine) as session:
        steps = session.exec(select(ChecklistStep).where(ChecklistStep.student_id == "S-PL")).all()
    own = next(step for step in steps if step.who == "student")
    theirs = next(step for step in steps if step.who != "student")
    with browser(app) as student:
        new_signed_in(student, engine, "chloe", Role.STUDENT, student_id="S-PL")
        page = student.get("/student/checklist")
        assert page.status_code == 200
        assert f'action="/student/checklist/{own.id}"' in page.text
        assert f'action="/student/checklist/{theirs.id}"' not in page.text
        text = text_of(page.text)
        assert "vous n'avez rien à cocher" in text
        assert "En retard" in text  # steps due over 40 days before departure
        ticked = submit(student, f"/student/checklist/{own.id}", {"done": "true"})
        assert ticked.headers["location"] == f"/student/checklist#step-{own.id}"
        after = text_of(follow(student, ticked).text)
        assert f"« {own.title} »" in after
        assert "coché par vous" in after
        refused = submit(student, f"/student/checklist/{theirs.id}", {"done": "true"})
        assert refused.status_code == 403
        submit(student, f"/student/checklist/{own.id}", {"done": "false"})
    with Session(engine) as session:
        assert session.get_one(ChecklistStep, own.id).done_at is None
        assert session.get_one(ChecklistStep, theirs.id).done_at is None


def test_a_student_gets_only_own_letter_checklist_and_europass_as_pdf(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The student letter, the checklist and the Europass Mobility come as PDFs of the
    student's own placement; any other document is 404, a teacher cannot use these
    addresses (403), and a student who declined has no documents any more."""
    publish_small_round(engine, client)
    with browser(app) as student:
        new_signed_in(student, engine, "chloe", Role.STUDENT, student_id="S-PL")
        for kind in ("student_letter", "checklist", "europass_mobility"):
            pdf = student.get(f"/student/documents/{kind}.pdf")
            assert pdf.status_code == 200, pdf.text
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF")
            assert pdf.headers["cache-control"] == "no-store"
        for kind in ("host_letter", "learning_agreement", "attendance_certificate", "nope"):
            assert student.get(f"/student/documents/{kind}.pdf").status_code == 404
    with Session(engine) as session:
        stored = session.exec(select(PlacementDocument)).all()
    assert {(d.student_id, d.kind) for d in stored} == {
        ("S-PL", "student_letter"),
        ("S-PL", "checklist"),
        ("S-PL", "europass_mobility"),
    }
    with browser(app) as teacher:
        new_signed_in(teacher, engine, "t@x.example", Role.TEACHER, school_id="SCH-B")
        assert teacher.get("/student/documents/student_letter.pdf").status_code == 403
    with browser(app) as student:
        new_signed_in(student, engine, "hugo", Role.STUDENT, student_id="S-UK")
        declined = submit(
            student,
            "/student/answer",
            {"decision": "decline", "round_id": _round_of(engine, "S-UK")},
        )
        assert declined.status_code == 303
        assert student.get("/student/documents/student_letter.pdf").status_code == 404


def test_a_student_cannot_open_staff_pages(app: FastAPI, engine: Engine) -> None:
    """Coordinator and teacher pages answer a student with the 403 page."""
    _add_student(engine, "S-X", "SCH-A")
    with browser(app) as student:
        new_signed_in(student, engine, "s", Role.STUDENT, student_id="S-X")
        for path in ("/coordinator", "/teacher", "/partner"):
            page = student.get(path)
            assert page.status_code == 403, path
    with browser(app) as teacher:
        new_signed_in(teacher, engine, "t", Role.TEACHER, school_id="SCH-A")
        for path in ("/student", "/student/why", "/student/checklist"):
            assert teacher.get(path).status_code == 403, path


def _publish_why_round(engine: Engine, client: TestClient) -> None:
    """A minor with German A2 who wishes for an offer needing German B1, then the United
    Kingdom (never for a minor), then a Polish offer that takes minors."""
    today = dt.date.today()
    start = today + dt.timedelta(days=40)
    dates = {"start_date": start, "end_date": start + dt.timedelta(days=27), "places": 1}
    with Session(engine) as session:
        session.add(
            School(
                school_id="SCH-W",
                name="Lycée Victor Hugo",
                kind=SchoolKind.PILOT,
                contact_name="Marc Leroy",
                contact_email="marc.leroy@lycee.example",
            )
        )
        for offer in (
            make_offer("DE-B1", accepts_minors=True, language_requirement=need("de:B1"), **dates),
            make_offer("UK-1", country=Country.UK, city="Leeds", **dates),
            make_offer(
                "PL-1",
                country=Country.PL,
                city="Gdańsk",
                accepts_minors=True,
                company_name="Gdańska Stocznia",
                **dates,
            ),
        ):
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        student = make_student(
            "S-WHY",
            first_name="Yanis",
            gender=Gender.M,
            birth_date=start - dt.timedelta(days=17 * 365),
            school_id="SCH-W",
            languages={"de": 2},
            preferences=("DE-B1", "UK", "PL-1"),
            available_from=today,
            available_to=start + dt.timedelta(days=60),
        )
        session.add(records.student_row(student))
        session.commit()
    coordinator = session_headers(engine, add_account(engine, "c@x.example", Role.COORDINATOR))
    round_id = client.post("/api/rounds", json={"name": "Why"}, headers=coordinator).json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).raise_for_status()
    assert wait_for_round(client, round_id, coordinator)["report"]["placed"] == 1
    deadline = (today + dt.timedelta(days=10)).isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish",
        json={"response_deadline": deadline},
        headers=coordinator,
    ).raise_for_status()


def test_why_this_placement_names_the_broken_rules_of_each_choice_and_the_goals_in_order(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """ "Why this placement" shows the student's own data, the five rules, each choice with
    the rule it breaks in words from the facts (German B1 asked, A2 held; 18 needed in the
    United Kingdom), the choice obtained, the goals in the round's order, and whom to ask."""
    _publish_why_round(engine, client)
    with browser(app) as student:
        new_signed_in(student, engine, "yanis", Role.STUDENT, student_id="S-WHY")
        page = student.get("/student/why")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "L311-3-1" in text
    assert "allemand A2" in text  # the student's own languages
    assert "Vœu n° 1" in text
    assert "cette offre demande B1 en allemand ; vous avez A2 en allemand." in text
    assert "dernier jour pour demander le visa qu'exige un stage au Royaume-Uni" in text
    assert "C'est le stage que vous avez obtenu" in text
    assert "Gdańska Stocznia" in text
    goals = [
        "placer le plus grand nombre d'élèves possible",
        "donner les mêmes chances aux filles et aux garçons",
        "respecter le mieux possible les vœux de chacun",
        "être équitable entre établissements",
    ]
    positions = [text.index(goal) for goal in goals]
    assert positions == sorted(positions)
    assert "aucun coordinateur ne l'a modifiée à la main" in text
    assert "marc.leroy@lycee.example" in text
