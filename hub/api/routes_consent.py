"""Consent per contact and channel; the unsubscribe link (issue 17)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["consent"])
