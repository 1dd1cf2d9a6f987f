"""Page routers, one module per kind of user (and common.py for everyone).

Every router here is created with `dependencies=[Depends(csrf.check)]`, so that
no form of any page can be posted without its token.
"""

from __future__ import annotations

from fastapi import APIRouter

from mobility_match.web.pages import common

ROUTERS: list[APIRouter] = [common.router]
