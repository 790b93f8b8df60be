"""Campaigns to a segment or a list (issue 17)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["campaigns"])
