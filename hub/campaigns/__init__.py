"""Campaigns (issue 17): proactive outreach to a segment or a list, through the outbox.

One concept per module: :mod:`.service` (the campaign's lifecycle and the API's
service functions), :mod:`.audience` (choosing the channel and address, exclusions,
freezing a segment into recipient rows), :mod:`.render` (content per language and
variables), :mod:`.smsparts` (SMS segment counting), :mod:`.sender` (the outbox's third
kind of row: claim, rate, send, record), :mod:`.reactor` (timers and replies),
:mod:`.presets` (the win-back preset). docs/campaigns.md.
"""
