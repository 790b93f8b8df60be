"""HTTP answers to Twilio: TwiML on success, JSON errors otherwise."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from twilio.twiml import TwiML
from twilio.twiml.messaging_response import MessagingResponse

TWIML_TYPE = "text/xml; charset=utf-8"


def twiml(document: TwiML) -> Response:
    return Response(document.to_xml(), media_type=TWIML_TYPE)


def empty_twiml() -> Response:
    """``<Response/>``: stored, nothing to say back (replies go through the outbox)."""
    return twiml(MessagingResponse())


def no_content() -> Response:
    return Response(status_code=204)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def bad_signature() -> JSONResponse:
    return error(403, "bad_signature", "missing or invalid X-Twilio-Signature")
