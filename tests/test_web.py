"""The pages' foundations: sign-in and out, the home of each role, CSRF on every form,
security headers, errors as pages, the offline API documentation."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from mobility_match.models import Role
from mobility_match.web.app import ROUTERS
from mobility_match.web.headers import CONTENT_SECURITY_POLICY
from tests.accounts import PASSWORD, add_account, add_school
from tests.pages import (
    browser,
    follow,
    new_signed_in,
    sign_in_as,
    submit,
    text_of,
    token_of,
)


def test_the_front_page_offers_sign_in_and_explains_how_students_sign_in(app: FastAPI) -> None:
    """`/` is a page, in French, with the staff sign-in form and the students' way in."""
    with browser(app) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert 'action="/login"' in page.text
    assert "lien personnel" in text_of(page.text)


def test_a_coordinator_signs_in_reaches_home_and_signs_out(app: FastAPI, engine: Engine) -> None:
    """A right password opens a session and leads to the role's home; signing out ends it
    on the server: the old cookie no longer opens a page."""
    add_account(engine, "coordinator@x.example", Role.COORDINATOR)
    with browser(app) as client:
        signed = submit(
            client, "/login", {"username": "coordinator@x.example", "password": PASSWORD}
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/home"
        assert client.get("/home").headers["location"] == "/coordinator"
        cookie = client.cookies.get("mobility_match_session")
        assert cookie
        out = submit(client, "/logout")
        assert out.headers["location"] == "/"
        client.cookies.set("mobility_match_session", cookie)
        again = client.get("/home")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")


def test_a_wrong_password_is_said_on_the_page_in_french(app: FastAPI, engine: Engine) -> None:
    """The sign-in page says the password is wrong, in the page's language, with 401."""
    add_account(engine, "teacher@x.example", Role.TEACHER)
    with browser(app) as client:
        refused = submit(client, "/login", {"username": "teacher@x.example", "password": "nope"})
    assert refused.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in text_of(refused.text)


def test_sign_in_goes_back_to_the_page_asked_for_and_never_to_another_site(
    app: FastAPI, engine: Engine
) -> None:
    """A page asked for without a session leads to sign-in and back to it; a `next` that
    names another site leads home instead."""
    add_account(engine, "c@x.example", Role.COORDINATOR)
    with browser(app) as client:
        asked = client.get("/home")
        assert asked.headers["location"] == "/login?next=%2Fhome"
        for target, expected in (("/coordinator", "/coordinator"), ("//evil.example", "/home")):
            response = submit(
                client,
                "/login",
                {"username": "c@x.example", "password": PASSWORD, "next": target},
            )
            assert response.headers["location"] == expected
            client.cookies.clear()


def test_every_form_of_every_page_is_refused_without_its_token(
    app: FastAPI, engine: Engine
) -> None:
    """Every POST route of the pages refuses a form without the CSRF token, and one with
    another session's token, before doing anything (403 page)."""
    add_school(engine, "S1")
    posts = [
        route.path_format
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert "/login" in posts
    with browser(app) as client, browser(app) as other:
        new_signed_in(client, engine, "c1@x.example", Role.COORDINATOR)
        new_signed_in(other, engine, "c2@x.example", Role.COORDINATOR)
        foreign = token_of(other)
        for path in posts:
            concrete = path.replace("{", "").replace("}", "")
            for data in ({}, {"csrf_token": foreign}, {"csrf_token": ""}):
                refused = client.post(concrete, data=data)
                assert refused.status_code == 403, (path, data, refused.status_code)
                assert "formulaire a expiré" in text_of(refused.text)


def test_every_answer_carries_the_security_headers(app: FastAPI, engine: Engine) -> None:
    """Pages, API answers and files carry a CSP without inline code, nosniff, no framing and
    a same-origin referrer; a signed-in page is never cached."""
    with browser(app) as client:
        new_signed_in(client, engine, "c@x.example", Role.COORDINATOR)
        answers = [client.get("/"), client.get("/api/rounds"), client.get("/static/style.css")]
        answers.append(client.get("/home", follow_redirects=True))
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert answers[-1].headers["cache-control"] == "no-store"


def test_errors_are_pages_outside_the_api_and_json_inside(app: FastAPI, engine: Engine) -> None:
    """A missing page is a French page with 404; the API keeps its JSON (a problem)."""
    with browser(app) as client:
        page = client.get("/no/such/page")
        api = client.get("/api/no/such/thing")
    assert page.status_code == 404
    assert "Cette page n'existe pas" in text_of(page.text)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_the_api_documentation_needs_no_internet(app: FastAPI) -> None:
    """/docs loads Swagger UI from the application itself, not from a CDN."""
    with browser(app) as client:
        page = client.get("/docs")
        scripts = [
            client.get("/static/swagger/swagger-ui-bundle.js"),
            client.get("/static/docs.js"),
        ]
    assert page.status_code == 200
    assert "https://" not in page.text
    assert "http://" not in page.text
    assert all(script.status_code == 200 for script in scripts)


def test_the_language_is_chosen_once_and_kept_for_the_account(app: FastAPI, engine: Engine) -> None:
    """A teacher who chooses English sees English on the next visit, from another browser."""
    add_school(engine, "S1")
    client = browser(app)
    account_id = new_signed_in(client, engine, "t@x.example", Role.TEACHER, school_id="S1")
    with client:
        chosen = submit(client, "/language", {"language": "en", "next": "/home"})
        assert chosen.status_code == 303
    with browser(app) as other:
        sign_in_as(other, engine, account_id)
        page = follow(other, other.get("/home"))
    assert '<html lang="en">' in page.text
    assert "Sign out" in page.text


def test_a_teacher_cannot_choose_german_but_a_partner_can(app: FastAPI, engine: Engine) -> None:
    """German and Polish are offered to partners only; a teacher's choice of German is
    refused and changes nothing."""
    add_school(engine, "S1")
    with browser(app) as teacher, browser(app) as partner:
        new_signed_in(teacher, engine, "t@x.example", Role.TEACHER, school_id="S1")
        new_signed_in(partner, engine, "p@x.example", Role.PARTNER, partner="OFAJ")
        refused = submit(teacher, "/language", {"language": "de"})
        chosen = submit(partner, "/language", {"language": "de", "next": "/home"})
        assert refused.status_code == 422
        assert chosen.status_code == 303
        page = follow(partner, partner.get("/home"))
    assert '<html lang="de">' in page.text
    assert "Abmelden" in page.text
