from __future__ import annotations
from fastapi import FastAPI
from sqlalchemy import Engine
from mobility_match.models import Role
from tests.accounts import add_school
from tests.pages import browser, new_signed_in, submit


def test_probe(app: FastAPI, engine: Engine) -> None:
    add_school(engine, "S1")
    with browser(app) as pages:
        new_signed_in(pages, engine, "admin@x.example", Role.COORDINATOR)
        for path in ["/coordinator/accounts/99999999999999999999/password", "/coordinator/accounts/99999999999999999999/deactivate", "/coordinator/accounts/3000000000/password"]:
            r = submit(pages, path, {}, page="/coordinator/accounts")
            print(path, r.status_code)
        r = pages.get("/coordinator/audit?page=99999")
        print("audit", r.status_code)
        r = pages.get("/coordinator/accounts?page=99999")
        print("accounts", r.status_code)
        r = pages.get("/coordinator/schools/S1?page=99999")
        print("school", r.status_code)
        r = pages.get("/coordinator/audit?since=0001-01-01&until=9999-12-31")
        print("audit dates", r.status_code)
        r = submit(pages, "/coordinator/accounts/unblock", {"username": "x" * 300}, page="/coordinator/accounts")
        print("unblock long", r.status_code)
