"""Survey questions with score buttons, and the button presses that answer them.

A survey question (an outbound message with ``meta["survey"]``) goes out with an inline
keyboard: one button per score, each carrying ``callback_data`` ``sv:<token>:<score>``.
The token is the survey's capability (43 characters), so the data stays well under the
Bot API's 64 bytes. A press arrives as a ``callback_query`` update: the score is
recorded with :func:`hub.services.surveys.answer_by_token`, the press is answered with a
short toast (thanks / already answered / expired, in the survey's language) and the
keyboard is taken off the question so it is not pressed again.

A press is an interaction, not a message: Telegram shows a spinner on the button until
the callback query is answered, so every outcome — an unknown button, a refused score,
even a database failure — gets an answer, and the webhook is always acknowledged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from channels.telegram.config import KIND
from channels.telegram.parse import UnreadableUpdate, UpdateError, update_type
from hub.care.texts import language_of
from hub.models import Conversation, SurveyRequest
from hub.services.errors import ServiceError
from hub.services.surveys import answer_by_token

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)

PREFIX = "sv"
CALLBACK_DATA_MAX = 64  # bytes, the Bot API's limit for callback_data
ROW_MAX = 6  # buttons per keyboard row: 1-5 is one row, 0-10 two rows of 6 and 5
MAX_SCORE = 10
TOKEN_MAX = 64  # what answer_by_token accepts

TOASTS: dict[str, dict[str, str]] = {
    "en": {
        "answered": "Thank you for your feedback!",
        "already_answered": "You have already answered this survey. Thank you!",
        "survey_expired": "This survey has expired. Thank you all the same.",
        "not_found": "This survey is no longer available.",
        "not_yours": "This survey was sent to someone else.",
        "invalid": "This button is not valid.",
        "error": "Sorry, that did not work. Please try again in a moment.",
    },
    "ar": {
        "answered": "شكرًا لك على تقييمك!",
        "already_answered": "لقد أجبت على هذا الاستبيان من قبل. شكرًا لك!",
        "survey_expired": "انتهت صلاحية هذا الاستبيان. شكرًا لك على أي حال.",
        "not_found": "هذا الاستبيان لم يعد متاحًا.",
        "not_yours": "هذا الاستبيان موجّه إلى شخص آخر.",
        "invalid": "هذا الزر غير صالح.",
        "error": "عذرًا، لم تنجح العملية. يرجى المحاولة بعد قليل.",
    },
}
# After these the buttons can do nothing more: take them off the question.
_SETTLED = frozenset({"answered", "already_answered", "survey_expired", "not_found"})


# -- outbound: the keyboard ------------------------------------------------------------
def callback_data(token: str, score: int) -> str:
    return f"{PREFIX}:{token}:{score}"


def keyboard(survey: Any) -> InlineKeyboardMarkup | None:
    """Score buttons for ``meta["survey"]``, or None when it cannot have any (the
    question then goes out as plain text, and a typed score still answers it)."""
    scale = _scale(survey)
    if scale is None:
        log.warning(
            "survey without usable buttons (token or score range); sent as text", extra={"channel": KIND}
        )
        return None
    token, low, high = scale
    scores = list(range(low, high + 1))
    rows = math.ceil(len(scores) / ROW_MAX)
    width = math.ceil(len(scores) / rows)  # balanced rows: 7 scores are 4 + 3, not 6 + 1
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(str(n), callback_data=callback_data(token, n))
                for n in scores[i : i + width]
            ]
            for i in range(0, len(scores), width)
        ]
    )


def _scale(survey: Any) -> tuple[str, int, int] | None:
    if not isinstance(survey, Mapping):
        return None
    token, low, high = survey.get("token"), survey.get("low"), survey.get("high")
    if (
        not isinstance(token, str)
        or not token
        or len(callback_data(token, MAX_SCORE).encode()) > CALLBACK_DATA_MAX
    ):
        return None
    if (
        isinstance(low, bool)
        or isinstance(high, bool)
        or not isinstance(low, int)
        or not isinstance(high, int)
    ):
        return None
    if not 0 <= low <= high <= MAX_SCORE:
        return None
    return token, low, high


# -- inbound: the press ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Press:
    token: str
    score: int


def parse_data(data: str | None) -> Press | None:
    """``sv:<token>:<score>`` → the press, or None for any other button's data."""
    prefix, _, rest = (data or "").partition(":")
    token, _, score = rest.rpartition(":")
    if prefix != PREFIX or not token or len(token) > TOKEN_MAX:
        return None
    if not (score.isascii() and score.isdigit() and len(score) <= 2):
        return None
    return Press(token, int(score))


def load_callback(raw: dict[str, Any], bot: Bot) -> CallbackQuery:
    """The callback query of a ``callback_query`` update (UpdateError when unreadable)."""
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise UpdateError("not a Telegram Update: expected an integer update_id")
    try:
        update = Update.de_json(raw, bot)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnreadableUpdate(
            f"telegram update {update_id} ({update_type(raw)}) could not be read: {type(exc).__name__}: {exc}"
        ) from None
    if update.callback_query is None:
        raise UnreadableUpdate(f"telegram update {update_id} has no callback_query")
    return update.callback_query


@dataclass(frozen=True, slots=True)
class _Survey:
    language: str
    customer: str  # the conversation's customer address: the Telegram user (or chat) id


async def _survey(hub: Hub, token: str) -> _Survey | None:
    """What the toast and the presser check need, read without locking anything."""
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(SurveyRequest.language, Conversation.contact_address)
                .join(Conversation, col(Conversation.id) == SurveyRequest.conversation_id, isouter=True)
                .where(SurveyRequest.token == token)
            )
        ).first()
    if row is None:
        return None
    language, customer = row
    return _Survey(language=language or "en", customer=customer or "")


def _may_answer(query: CallbackQuery, survey: _Survey) -> bool:
    """In a group every member sees the buttons; only the customer asked may answer.
    (A survey to a chat itself — an anonymous group admin wrote — is the chat's.)"""
    chat = query.message.chat.id if query.message is not None else None
    return survey.customer in (str(query.from_user.id), str(chat))


async def answer_press(hub: Hub, bot: Bot, query: CallbackQuery) -> str:
    """Record the pressed score and answer the press; returns the outcome. Never raises."""
    press = parse_data(query.data)
    if press is None:
        # Not ours (an old keyboard, another feature's button): stop the spinner only.
        log.info("telegram callback %r ignored", (query.data or "")[:80], extra={"channel": KIND})
        await _toast(bot, query, None)
        return "ignored"
    # The toast is in the survey's language; someone else pressing reads their own.
    language = language_of(query.from_user.language_code)
    try:
        survey = await _survey(hub, press.token)
        outcome = await _record(hub, query, press, survey)
        if survey is not None and outcome != "not_yours":
            language = language_of(survey.language)
    except Exception:  # the database is away: the customer may press again
        log.exception("telegram survey button could not be recorded", extra={"channel": KIND})
        outcome = "error"
    await _toast(bot, query, TOASTS[language][outcome])
    if outcome in _SETTLED:
        await _remove_keyboard(bot, query)
    return outcome


async def _record(hub: Hub, query: CallbackQuery, press: Press, survey: _Survey | None) -> str:
    if survey is None:
        return "not_found"
    if not _may_answer(query, survey):
        log.info(
            "telegram survey button pressed by %s, not the customer",
            query.from_user.id,
            extra={"channel": KIND},
        )
        return "not_yours"
    try:
        await answer_by_token(hub, press.token, press.score, via="button")
    except ServiceError as exc:
        if exc.code == "validation_error":
            return "invalid"  # a score outside the scale: forged, our buttons carry valid ones
        # already_answered, survey_expired, survey_not_found (erased meanwhile)
        return exc.code if exc.code in TOASTS["en"] else "not_found"
    return "answered"


async def _toast(bot: Bot, query: CallbackQuery, text: str | None) -> None:
    try:
        await bot.answer_callback_query(query.id, text=text)
    except TelegramError as exc:
        # Too late (Telegram allows about 15 s) or already answered (a redelivery).
        log.warning("telegram answerCallbackQuery failed: %s", exc, extra={"channel": KIND})


async def _remove_keyboard(bot: Bot, query: CallbackQuery) -> None:
    message = query.message
    if not isinstance(message, Message):  # older than 48 h: Telegram no longer shows it to bots
        return
    try:
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id)
    except TelegramError as exc:
        # "message is not modified" (a second press raced the first), or too old to edit.
        log.info("telegram keyboard not removed: %s", exc, extra={"channel": KIND})
