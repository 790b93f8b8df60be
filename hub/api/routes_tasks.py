"""Tasks and follow-ups; shift hand-over (issue 18)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["tasks"])
