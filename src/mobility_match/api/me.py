"""Routes: me (being written)."""

from fastapi import APIRouter

router = APIRouter()
