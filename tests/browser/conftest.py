"""Fixtures of the browser tests: one live server on demo data, one Chromium, per session.

The server is the real application under uvicorn, on a SQLite file (or, in the
PostgreSQL lane, a database of its own beside the test database), loaded with
the demo programme exactly as `serve --demo` loads it: offers, a cohort in ten
schools, an account per role and a published first round. Chromium is Debian's
(/usr/bin/chromium), driven by Playwright, which downloads no browser.

Every browser test is put in one xdist group, so that one worker runs them all
against this one server.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine
from mobility_match.serve import prepare_database, prepare_demo
from tests.browser.site import CHROMIUM, Site
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = sorted((ROOT / "data" / "companies").glob("*.csv"))
DEMO_STUDENTS = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _own_database(tmp: Path) -> str:
    """A database for the live server alone: a SQLite file, or `<test db>_browser`."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp / 'live.db'}"
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_browser"
    admin = make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The application served on 127.0.0.1 with the demo data; its accounts' sign-ins."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("live")
    port = _free_port()
    settings = Settings(
        database_url=_own_database(tmp),
        public_url=f"http://127.0.0.1:{port}",
        solve_time_limit=20.0,
    )
    prepare_database(settings)
    with open(os.devnull, "w") as quiet:
        accounts = prepare_demo(settings, COMPANIES, DEMO_STUDENTS, 1, Console(file=quiet))
    engine = make_engine(settings.database_url)
    app = create_app(settings, engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    shots = ROOT / "out" / "screenshots"
    yield Site(settings.public_url, settings, engine, accounts, shots)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def chromium(site: Site) -> Iterator[object]:
    """Debian's Chromium, headless, started once."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshots(site: Site, request: pytest.FixtureRequest) -> Path:
    """The folder of this test's screenshots: out/screenshots/<test name>/."""
    folder = site.screenshots / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
