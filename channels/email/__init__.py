"""The email channel: IMAP (IDLE or polling) and an SMTP listener in, SMTP out.

Modules: ``config`` (the ``[channels.email]`` table), ``parse`` (MIME → ParsedEmail),
``quotes`` (what the agent reads), ``threads`` (which conversation; reply headers),
``loops`` (automatic mail, bounces, rate limits), ``dsn``, ``attachments``, ``inbound``
(the one inbound path), ``smtp_listener``, ``imap``, ``send`` and ``channel``.
"""

from channels.email.channel import EmailChannel

__all__ = ["EmailChannel"]
