"""Starting the service: production refusals, demo data and sign-ins, logs without secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import Engine, delete
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from mobility_match.api.app import create_app
from mobility_match.cli import app as cli
from mobility_match.config import ProductionRefused, Settings, get_settings
from mobility_match.db import make_engine
from mobility_match.models import AuditEvent, ChecklistStep, FollowUpAnswer, Offer, Role, Student
from mobility_match.serve import HideInvitationTokens, prepare_database, prepare_demo
from tests.programme import COMPANIES
from tests.published import publish_small_round


def test_production_refuses_every_development_default() -> None:
    """In production, each development default is named with the setting to change."""
    settings = Settings(environment="production")
    with pytest.raises(ProductionRefused) as refusal:
        settings.check_production(demo=True)
    message = str(refusal.value)
    for setting in ("DATABASE_URL", "SECURE_COOKIES", "PUBLIC_URL", "--demo"):
        assert setting in message


def test_production_settings_pass_the_check() -> None:
    """A production set-up with its own database, HTTPS, secure cookies and mail starts."""
    Settings(
        environment="production",
        database_url="postgresql+psycopg://app@db.example/mobility",
        public_url="https://mobility.example",
        secure_cookies=True,
        smtp_host="smtp.example",
        mail_from="Programme <mobilite@programme.example>",
        pseudonym_key="a secret of the evaluation, at least 32 characters",
    ).check_production()


def test_serve_refuses_to_start_in_production_with_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --demo` in production exits 2, says why, and creates no database."""
    database = tmp_path / "refused.db"
    monkeypatch.setenv("MOBILITY_MATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--demo"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "refusing to start in production" in result.output
    assert "--demo" in result.output
    assert not database.exists()


def test_serve_refuses_broken_checklist_data_and_a_missing_templates_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A coordinator's checklist override with mistakes stops the start, naming each one."""
    checklists = tmp_path / "checklists"
    checklists.mkdir()
    (checklists / "DE.toml").write_text(
        '[[step]]\nkey = "anmeldung"\ntitle = "Anmeldung"\nexplanation = "x"\n'
        'who = "parent"\ndays_before = "soon"\n',
        encoding="utf-8",
    )
    database = tmp_path / "refused.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MOBILITY_MATCH_CHECKLISTS_DIR", str(checklists))
    monkeypatch.setenv("MOBILITY_MATCH_TEMPLATES_DIR", str(tmp_path / "no-such-folder"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "MOBILITY_MATCH_TEMPLATES_DIR" in output
    assert "DE.toml: step 1 (anmeldung): who" in output
    assert "days_before" in output
    assert not database.exists()


@pytest.mark.slow
def test_demo_data_gives_a_working_sign_in_for_every_role(tmp_path: Path) -> None:
    """--demo loads the programme once, and each printed sign-in works; new ones each start."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", public_url="http://t")
    prepare_database(settings)
    companies = sorted(COMPANIES.glob("*.csv"))
    console = Console(record=True, width=200)
    first = prepare_demo(settings, companies, 120, 1, console)
    second = prepare_demo(settings, companies, 120, 1, console)
    printed = console.export_text()
    assert "solved and published" in printed  # the first start only
    assert "already holds data" in printed
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        # The demo cohort, and a past one (as large) with follow-up answers.
        assert session.exec(select(func.count()).select_from(Student)).one() == 240
        assert session.exec(select(func.count()).select_from(FollowUpAnswer)).one() > 120
        assert session.exec(select(func.count()).select_from(Offer)).one() == 162
    assert [account.role for account in second] == list(Role)
    with TestClient(create_app(settings, engine)) as client:
        for old, new in zip(first, second, strict=True):
            if new.role is Role.STUDENT:
                path = new.secret.removeprefix("http://t")
                assert client.get(path).status_code == 200
                assert client.post(path).json()["account"]["role"] == "student"
                assert client.post(old.secret.removeprefix("http://t")).status_code == 410
                continue
            for account, expected in ((old, 401), (new, 200)):
                login = {"username": account.username, "password": account.secret}
                assert client.post("/api/auth/login", json=login).status_code == expected
        # The demo round is published, with documents and checklists to try at once.
        teacher = next(a for a in second if a.role is Role.TEACHER)
        login = {"username": teacher.username, "password": teacher.secret}
        headers = {
            "Authorization": f"Bearer {client.post('/api/auth/login', json=login).json()['token']}"
        }
        (round_,) = client.get("/api/rounds", headers=headers).json()
        assert round_["status"] == "published"
        placed = [
            a
            for a in client.get(f"/api/rounds/{round_['id']}/assignments", headers=headers).json()
            if a["offer_id"]
        ]
        assert placed
        placement = f"/api/rounds/{round_['id']}/placements/{placed[0]['student_id']}"
        steps = client.get(f"{placement}/checklist", headers=headers).json()["steps"]
        assert {"identity_document", "ceam", "learning_agreement"} <= {s["key"] for s in steps}
        letter = client.get(f"{placement}/documents/host_letter.html", headers=headers)
        assert letter.status_code == 200
        # the demo school's contact is filled in, its telephone in international form
        assert "+33\u00a04\u00a065\u00a071" in letter.text
    engine.dispose()


def test_serve_writes_the_checklists_of_rounds_published_before_them(
    engine: Engine, client: TestClient, settings: Settings
) -> None:
    """A round published before checklists existed gets them when the service starts."""
    world = publish_small_round(engine, client)
    with Session(engine) as session:
        written = len(session.exec(select(ChecklistStep)).all())
        session.execute(delete(ChecklistStep))
        session.commit()
    prepare_database(settings)
    prepare_database(settings)  # twice: nothing written the second time
    with Session(engine) as session:
        steps = session.exec(select(ChecklistStep)).all()
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert len(steps) == written
    assert {s.round_id for s in steps} == {world.round_id}
    assert actions.count("checklist.backfill") == 1


def test_access_logs_never_show_an_invitation_token() -> None:
    """The access log line of an invitation link keeps the path but not the token."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/invite/Secret-Token_123?x=1", "1.1", 200),
        None,
    )
    assert HideInvitationTokens().filter(record)
    assert "Secret-Token_123" not in record.getMessage()
    assert "/invite/…?x=1" in record.getMessage()
