"""What every Twilio webhook handler does first: verify, then read the parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from channels.twilio.config import TwilioAccount
from channels.twilio.responses import bad_signature, error
from channels.twilio.signature import SignatureChecker
from hub.context import Hub

Params = dict[str, str]
Handler = Callable[[Hub, Params, Request], Awaitable[Response]]


class Webhooks:
    """Wraps handlers: a bad or missing signature is a 403 before anything is stored."""

    def __init__(self, account: TwilioAccount) -> None:
        self.account = account
        self._checker = SignatureChecker(account.auth_token)
        self.hub: Hub | None = None

    def verified(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            hub = self.hub
            if hub is None:
                return error(503, "not_ready", "the hub is starting")
            form = await self._checker.verified_form(request, hub.settings.base_url)
            if form is None:
                return bad_signature()
            # NUL is removed, not refused (PostgreSQL cannot store it; Twilio would retry).
            params = {
                k.replace("\x00", ""): v.replace("\x00", "") for k, v in form.items() if isinstance(v, str)
            }
            # A valid signature from another account (a sub-account sharing the URL)
            # is still not ours to store.
            if params.get("AccountSid", self.account.account_sid) != self.account.account_sid:
                return error(403, "wrong_account", "the webhook is for another Twilio account")
            return await handler(hub, params, request)

        return endpoint
