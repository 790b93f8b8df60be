"""Access tokens for the agent's browser softphone (Twilio Voice JavaScript SDK)."""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from channels.twilio.voice_config import VoiceConfig


class SoftphoneNotConfigured(Exception):
    pass


def client_identity(user_id: int) -> str:
    """The softphone's identity, which ``<Dial><Client>`` rings when a call is bridged."""
    return f"agent-{user_id}"


def voice_access_token(cfg: VoiceConfig, identity: str) -> str:
    """A signed JWT letting the browser receive calls for ``identity``.

    Access tokens are signed with an API key (never the Auth Token), so
    ``api_key``/``api_secret`` must be configured. With ``twiml_app_sid`` the agent
    may also place outgoing calls (callbacks) through that TwiML App.
    """
    account = cfg.account
    if not (account.api_key and account.api_secret):
        raise SoftphoneNotConfigured(
            "the browser softphone needs channels.voice.api_key and channels.voice.api_secret"
        )
    token = AccessToken(
        account.account_sid,
        account.api_key,
        account.api_secret,
        identity=identity,
        ttl=cfg.token_ttl_seconds,
    )
    token.add_grant(VoiceGrant(incoming_allow=True, outgoing_application_sid=cfg.twiml_app_sid))
    return str(token.to_jwt())
