"""Page routers, one module per part of the site (and common.py for everyone).

Every router here is created with `dependencies=[Depends(csrf.check)]`, so that
no form of any page can be posted without its token (tests/test_web.py walks
every POST route of ROUTERS).
"""

from __future__ import annotations

from fastapi import APIRouter

from mobility_match.web.pages import (
    admin,
    common,
    jobs,
    partner,
    results,
    rounds,
    student,
    teacher,
    uploads,
)

ROUTERS: list[APIRouter] = [
    common.router,
    rounds.router,
    results.router,
    admin.router,
    uploads.router,
    partner.router,
    teacher.router,
    jobs.router,
    student.router,
]
