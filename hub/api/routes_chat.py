"""Internal messages between staff: direct messages and team rooms (issue 18)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["chat"])
