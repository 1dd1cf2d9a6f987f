"""Pages: student (being written)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from mobility_match.web import csrf

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)
