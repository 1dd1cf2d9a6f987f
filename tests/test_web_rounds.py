"""The coordinator's rounds pages, driven as a browser without JavaScript: the dashboard, a
new round with its policy, the solve followed on the round page, publication with a
deadline, a re-run after a withdrawal and the diff of the two rounds, with names."""

from __future__ import annotations

import datetime as dt
import re
import time
from fractions import Fraction

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.domain import Gender
from mobility_match.matching.policy import Policy, parse_policy
from mobility_match.models import Assignment, Role, Round, School, SchoolKind
from mobility_match.services.offers import withdraw_offer
from mobility_match.web.pages.rounds import policy_toml
from tests.factories import make_offer, make_student
from tests.pages import browser, follow, new_signed_in, submit, text_of

STUDENTS = (
    ("S-1", "Inès", "D'Almeida", Gender.F, "LP-A"),
    ("S-2", "Hugo", "Bernard", Gender.M, "LP-A"),
    ("S-3", "Chloé", "Petit", Gender.F, "LP-B"),
)
OFFERS = (
    ("DE-1", "Leipziger Handel GmbH", "Leipzig"),
    ("DE-2", "Dresdner Laden GmbH", "Dresden"),
    ("DE-3", "Kölner Markt GmbH", "Köln"),
    ("DE-4", "Bremer Kontor GmbH", "Bremen"),
)


def _programme(engine: Engine) -> None:
    """Two pilot schools (and a control school, whose students no round takes), three
    students and four one-place offers any of them can take."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée professionnel Jean Moulin"))
        session.add(School(school_id="LP-B", name="CFA des Métiers"))
        session.add(School(school_id="LP-C", name="Lycée témoin", kind=SchoolKind.CONTROL))
        for offer_id, company, city in OFFERS:
            offer, row = records.offer_rows(make_offer(offer_id, company_name=company, city=city))
            session.add(row)
            session.flush()
            session.add(offer)
        for student_id, first, last, gender, school in STUDENTS:
            student = make_student(
                student_id, first_name=first, last_name=last, gender=gender, school_id=school
            )
            session.add(records.student_row(student))
        session.add(records.student_row(make_student("S-CONTROL", school_id="LP-C")))
        session.commit()


def _wait_until_solved(client: TestClient, round_id: int, timeout: float = 60.0) -> str:
    """Open the round page until its solve ends (no more live progress); its text."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(f"/coordinator/rounds/{round_id}")
        assert page.status_code == 200, page.text
        if "data-poll" not in page.text:
            return text_of(page.text)
        assert '<progress id="solve-bar"' in page.text
        assert '<meta http-equiv="refresh"' in page.text
        assert time.monotonic() < deadline, f"round {round_id} is still being solved"
        time.sleep(0.1)


def _round_id(response_location: str) -> int:
    found = re.fullmatch(r"/coordinator/rounds/(\d+)", response_location)
    assert found, response_location
    return int(found.group(1))


def _new_round_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Printemps 2027",
        "time_limit": "20",
        "seed": "7",
        "stage_1": "placements",
        "stage_2": "gender_gap",
        "stage_3": "preferences",
        "stage_4": "",
        "tolerance_placements": "0",
        "tolerance_gender_gap": "2",
        "tolerance_preferences": "0",
        "tolerance_school_fairness": "0",
    }
    form.update(changes)
    return form


def test_a_coordinator_creates_solves_publishes_reruns_and_compares_rounds(
    app: FastAPI, engine: Engine
) -> None:
    """The whole life of a round through the pages: the dashboard counts what a round would
    take; the form's stage order and tolerance become the round's policy; the solve is
    followed until its figures show; a past deadline is refused next to its field; after
    an offer is withdrawn, a re-run is solved and the diff names the student who moved."""
    _programme(engine)
    with browser(app) as client:
        coordinator = new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        dashboard = client.get("/coordinator")
        assert dashboard.status_code == 200
        assert dashboard.headers["cache-control"] == "no-store"
        text = text_of(dashboard.text)
        assert "Un nouveau tour prendrait 3 élèves de 2 établissements pilotes" in text
        assert "4 offres ouvertes (4 places)" in text
        assert "Aucun tour pour l'instant" in text
        assert 'href="/coordinator/rounds/new"' in dashboard.text

        created = submit(
            client, "/coordinator/rounds", _new_round_form(), page="/coordinator/rounds/new"
        )
        assert created.status_code == 303
        first = _round_id(created.headers["location"])
        draft = follow(client, created)
        text = text_of(draft.text)
        assert "Le tour a été créé" in text
        assert "brouillon" in text
        assert (
            "Placements Équilibre entre filles et garçons (tolérance 2,0 %) Choix des élèves"
            in text
        )
        with Session(engine) as session:
            stored = session.get_one(Round, first)
            assert parse_policy(stored.policy) == Policy(
                stages=("placements", "gender_gap", "preferences"),
                tolerance={"gender_gap": Fraction(2, 100)},
            )
            assert (stored.time_limit, stored.seed) == (20.0, 7)

        started = submit(
            client, f"/coordinator/rounds/{first}/solve", page=f"/coordinator/rounds/{first}"
        )
        assert started.headers["location"] == f"/coordinator/rounds/{first}"
        assert "La résolution a commencé" in text_of(follow(client, started).text)
        solved = _wait_until_solved(client, first)
        assert "résolu" in solved
        assert "3 / 3 élèves placés" in solved
        assert "optimale (prouvée)" in solved
        page = client.get(f"/coordinator/rounds/{first}").text
        assert f'href="/coordinator/rounds/{first}/assignments"' in page
        assert f'href="/coordinator/rounds/{first}/statistics"' in page

        yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        late = submit(
            client,
            f"/coordinator/rounds/{first}/publish",
            {"response_deadline": yesterday},
            page=f"/coordinator/rounds/{first}",
        )
        assert late.status_code == 422
        assert 'id="error-response_deadline"' in late.text
        assert f"{yesterday} is in the past" in text_of(late.text)
        assert "résolu" in text_of(late.text)

        deadline = dt.date.today() + dt.timedelta(days=10)
        published = submit(
            client,
            f"/coordinator/rounds/{first}/publish",
            {"response_deadline": deadline.isoformat()},
            page=f"/coordinator/rounds/{first}",
        )
        text = text_of(follow(client, published).text)
        assert "Le tour est publié" in text
        assert "Sans réponse pour l'instant 3" in text
        assert "Confirmées par l'élève 0" in text

        again = submit(
            client, f"/coordinator/rounds/{first}/solve", page=f"/coordinator/rounds/{first}"
        )
        assert again.status_code == 409
        assert "A published round cannot be solved again" in text_of(again.text)
        assert 'role="alert"' in again.text

        with Session(engine) as session:
            moved = session.exec(
                select(Assignment).where(
                    Assignment.round_id == first, Assignment.student_id == "S-1"
                )
            ).one()
            before_offer = moved.offer_id
            assert before_offer is not None
            viewer = Viewer(coordinator, "coordinator@example.org", Role.COORDINATOR)
            withdraw_offer(session, viewer, before_offer)
            session.commit()

        rerun = submit(
            client,
            f"/coordinator/rounds/{first}/rerun",
            {"name": "Printemps 2027, après désistements"},
            page=f"/coordinator/rounds/{first}",
        )
        second = _round_id(rerun.headers["location"])
        assert second != first
        text = text_of(follow(client, rerun).text)
        assert f"Un nouveau tour a été créé à partir du tour {first}" in text
        submit(client, f"/coordinator/rounds/{second}/solve", page=f"/coordinator/rounds/{second}")
        solved = _wait_until_solved(client, second)
        assert "Stabilité" in solved
        page = client.get(f"/coordinator/rounds/{second}").text
        assert f'href="/coordinator/rounds/{first}/diff/{second}"' in page
        assert f"Comparer avec le tour {first}" in text_of(page)

        diff = client.get(f"/coordinator/rounds/{first}/diff/{second}")
        assert diff.status_code == 200
        text = text_of(diff.text)
        assert "1 élève est placé autrement" in text
        company = {o[0]: o[1] for o in OFFERS}[before_offer]
        assert re.search(
            rf"D'Almeida Inès \(S-1\) Lycée professionnel Jean Moulin {company}, \w+ \(Allemagne\)"
            r" offre DE-\d [^,]+ GmbH, \w+ \(Allemagne\) offre DE-\d",
            text,
        ), text

        listed = text_of(client.get("/coordinator").text)
        assert f"Tour {second} — Printemps 2027, après désistements" in listed
        assert f"nouveau tour du tour {first}" in listed
        assert "3 / 3" in listed


def test_a_refused_new_round_shows_each_problem_next_to_its_field(
    app: FastAPI, engine: Engine
) -> None:
    """An empty name, a stage chosen twice, a tolerance over 100 and a time limit of zero
    are each said next to their field, the form kept as typed, with 422; nothing is made."""
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        form = _new_round_form(
            name=" ",
            time_limit="0",
            stage_2="placements",
            tolerance_preferences="150",
        )
        refused = submit(client, "/coordinator/rounds", form, page="/coordinator/rounds/new")
    assert refused.status_code == 422
    for field in ("name", "time_limit", "stage_2", "tolerance_preferences"):
        assert f'id="error-{field}"' in refused.text, field
    text = text_of(refused.text)
    assert "Donnez un nom au tour" in text
    assert "Cet objectif est déjà choisi à une position précédente" in text
    assert "Saisissez un nombre de 0 à 100" in text
    assert 'value="150"' in refused.text
    with Session(engine) as session:
        assert session.exec(select(Round)).first() is None


def test_cancelling_a_round_that_is_not_being_solved_is_refused_on_its_page(
    app: FastAPI, engine: Engine
) -> None:
    """Cancel on a draft round answers 409 with the round page and the reason in an alert,
    the round left as it was, its solve button still there."""
    _programme(engine)
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        created = submit(
            client, "/coordinator/rounds", _new_round_form(), page="/coordinator/rounds/new"
        )
        path = created.headers["location"]
        refused = submit(client, f"{path}/cancel", page=path)
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    text = text_of(refused.text)
    assert "Refusé : The round is not being solved." in text
    assert "brouillon" in text
    assert f'action="{path}/solve"' in refused.text


def test_a_solved_round_is_solved_again_only_by_its_own_button(
    app: FastAPI, engine: Engine
) -> None:
    """A solved round's "Relancer la résolution" form carries again=1 and solves it again;
    a solve posted without it (a stale draft page) is refused on the page, result kept."""
    _programme(engine)
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        created = submit(
            client, "/coordinator/rounds", _new_round_form(), page="/coordinator/rounds/new"
        )
        path = created.headers["location"]
        round_id = _round_id(path)
        submit(client, f"{path}/solve", page=path)
        _wait_until_solved(client, round_id)
        with Session(engine) as session:
            first_solve = session.get_one(Round, round_id).solved_at
        page = client.get(path).text
        form = page[page.index(f'action="{path}/solve"') :]
        form = form[: form.index("</form>")]
        assert '<input type="hidden" name="again" value="1">' in form
        assert "Relancer la résolution" in form

        stale = submit(client, f"{path}/solve", page=path)
        assert stale.status_code == 409
        assert 'role="alert"' in stale.text
        assert "is already solved" in text_of(stale.text)
        assert "3 / 3 élèves placés" in text_of(stale.text)

        again = submit(client, f"{path}/solve", {"again": "1"}, page=path)
        assert again.status_code == 303
        assert "résolu" in _wait_until_solved(client, round_id)
    with Session(engine) as session:
        solved_again = session.get_one(Round, round_id).solved_at
    assert first_solve is not None
    assert solved_again is not None
    assert solved_again > first_solve


def test_the_default_order_without_tolerance_is_the_default_policy() -> None:
    """The form's default choices give the default policy (an empty TOML); leaving goals
    out and setting tolerances gives a policy naming exactly those."""
    default = {f"stage_{i}": s for i, s in enumerate(Policy().stages, start=1)}
    assert policy_toml(default, str) == ("", {})
    chosen = {"stage_1": "preferences", "stage_3": "placements", "tolerance_preferences": "12.5"}
    toml, errors = policy_toml(chosen, str)
    assert errors == {}
    assert parse_policy(toml) == Policy(
        stages=("preferences", "placements"), tolerance={"preferences": Fraction(1, 8)}
    )


def test_a_missing_round_is_the_404_page(app: FastAPI, engine: Engine) -> None:
    """A round that does not exist answers the translated 404 page, not JSON."""
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        missing = client.get("/coordinator/rounds/999")
        diff = client.get("/coordinator/rounds/999/diff/998")
    assert missing.status_code == 404
    assert "Cette page n'existe pas" in text_of(missing.text)
    assert diff.status_code == 404


def test_a_teacher_may_not_open_the_rounds(app: FastAPI, engine: Engine) -> None:
    """The dashboard and the new-round form are the coordinator's: a teacher gets 403."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée A"))
        session.commit()
    with browser(app) as client:
        new_signed_in(client, engine, "teacher@example.org", Role.TEACHER, school_id="LP-A")
        assert client.get("/coordinator").status_code == 403
        assert client.get("/coordinator/rounds/new").status_code == 403
        posted = submit(client, "/coordinator/rounds", _new_round_form())
    assert posted.status_code == 403
