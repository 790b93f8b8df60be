"""Automation rules and macros (issue 18)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["rules"])
