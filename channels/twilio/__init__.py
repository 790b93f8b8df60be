"""Twilio adapters: SMS/MMS, WhatsApp and Voice, on the official ``twilio`` library.

See docs/channels/twilio.md for configuration and for pointing a Twilio number at the
hub.
"""

from channels.twilio.sms import TwilioSmsChannel
from channels.twilio.voice import TwilioVoiceChannel
from channels.twilio.whatsapp import TwilioWhatsAppChannel

__all__ = ["TwilioSmsChannel", "TwilioVoiceChannel", "TwilioWhatsAppChannel"]
