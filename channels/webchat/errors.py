"""One error type for the customer side: a stable code, a sentence a visitor can read.

The socket sends it as ``{"type": "error", "code", "message", ...}``; REST answers
``{"error": {"code", "message", ...}}`` with ``status`` — the hub API's shape.
"""

from __future__ import annotations

from typing import Any


class WebchatError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: list[dict[str, str]] | None = None,
        retry_after: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.retry_after = retry_after
        self.extra = extra or {}

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, **self.extra}
        if self.fields:
            out["fields"] = self.fields
        if self.retry_after is not None:
            out["retry_after"] = round(self.retry_after, 1)
        return out


def invalid(fields: list[dict[str, str]]) -> WebchatError:
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return WebchatError(422, "validation_error", summary, fields=fields)


def rate_limited(wait: float, what: str) -> WebchatError:
    seconds = max(1, round(wait))
    return WebchatError(
        429, "rate_limited", f"too many {what}; try again in {seconds} s", retry_after=max(wait, 0.1)
    )
