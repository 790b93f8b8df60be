"""``X-Twilio-Signature``: every webhook is checked before anything is read or stored.

Twilio signs the exact URL it was told to call (scheme, host, path and query string)
followed by the POST parameters sorted by name. Behind a proxy or tunnel the hub sees
its own host, not the public one, so the URL is rebuilt from the configured public
base URL (``hub.settings.base_url``) plus the path and raw query the hub received.
The computation itself is the official library's (:class:`RequestValidator`), which
also accepts the URL with and without an explicit default port, as Twilio's own
back end is inconsistent about it.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "x-twilio-signature"


def public_url(request: Request, base_url: str) -> str:
    """The URL Twilio called: the public base URL + the path + the raw query string."""
    url = base_url.rstrip("/") + request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


class SignatureChecker:
    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    async def verified_form(self, request: Request, base_url: str) -> FormData | None:
        """The POST parameters when the signature is right, else ``None``."""
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return None
        form = await request.form()
        # Starlette's FormData is a multidict with ``getlist``, which the validator uses
        # so repeated parameters are signed as Twilio signs them.
        if not self._validator.validate(public_url(request, base_url), form, signature):
            return None
        return form
