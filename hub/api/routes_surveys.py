"""Surveys (docs/surveys.md): definitions and policies (admin), answers (staff), sending
one survey now (supervisors), and the hosted answer page customers reach from an
email's rating links (``/s/{token}``, public: the token is their capability)."""

from __future__ import annotations

import html
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.public_html import page as public_page
from hub.api.schemas import Id, Position
from hub.api.schemas_care import DefinitionIn, DefinitionOut, PolicyIn, PolicyOut, SendSurveyIn, SurveyOut
from hub.care import texts
from hub.context import Hub
from hub.models import Contact, SurveyRequest
from hub.services import surveys
from hub.services.access import Actor
from hub.services.errors import ServiceError

router = APIRouter(tags=["surveys"])


def visible_surveys(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    mine = col(SurveyRequest.agent_id) == actor.user_id
    teams = col(SurveyRequest.team_id).in_(sorted(actor.team_ids)) if actor.team_ids else sa.false()
    if actor.is_supervisor:
        return sa.or_(mine, teams, col(SurveyRequest.team_id).is_(None))
    return sa.or_(mine, teams)


@router.get("/surveys", response_model=list[SurveyOut])
async def list_surveys(
    conversation_id: Id | None = None,
    contact_id: Id | None = None,
    complaint_id: Id | None = None,
    status: str | None = Query(default=None, max_length=12),
    low_score: bool | None = None,
    before: Position | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> list[Any]:
    stmt = (
        select(SurveyRequest, Contact.name)
        .join(Contact, col(Contact.id) == SurveyRequest.contact_id)
        .where(visible_surveys(actor))
    )
    for column, value in (
        (SurveyRequest.conversation_id, conversation_id),
        (SurveyRequest.contact_id, contact_id),
        (SurveyRequest.complaint_id, complaint_id),
        (SurveyRequest.status, status),
        (SurveyRequest.low_score, low_score),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if before is not None:
        stmt = stmt.where(col(SurveyRequest.id) < before)
    async with hub.db.session() as s:
        rows = (await s.exec(stmt.order_by(col(SurveyRequest.id).desc()).limit(limit))).all()
    return [SurveyOut.model_validate(r).model_copy(update={"contact_name": name}) for r, name in rows]


@router.post("/contacts/{contact_id}/surveys", response_model=SurveyOut, status_code=201)
async def send_survey(
    contact_id: Id, body: SendSurveyIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    return await surveys.send_now(hub, actor, contact_id, body.survey_key, body.channel)


@router.get("/survey-definitions", response_model=list[DefinitionOut])
async def list_definitions(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> list[Any]:
    async with hub.db.session() as s:
        return await surveys.list_definitions(s)


@router.put("/survey-definitions/{key}", response_model=DefinitionOut)
async def save_definition(
    key: str, body: DefinitionIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    return await surveys.save_definition(hub, actor, key, body.model_dump())


@router.get("/survey-policies", response_model=list[PolicyOut])
async def list_policies(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> list[Any]:
    async with hub.db.session() as s:
        return await surveys.list_policies(s)


@router.put("/survey-policies", response_model=PolicyOut)
async def save_policy(
    body: PolicyIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    values = body.model_dump()
    return await surveys.save_policy(hub, actor, values.pop("team_id"), values.pop("channel"), values)


# -- the hosted answer page ----------------------------------------------------------------

PAGE_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Your feedback",
        "pick": "Your score",
        "comment": "Anything you would like to add? (optional)",
        "send": "Send",
        "thanks": "Thank you for your feedback.",
        "expired": "This survey has expired. Thank you all the same.",
        "answered": "This survey is already answered. Thank you.",
        "missing": "This link is not valid.",
        "low": {"csat": "Very unsatisfied", "nps": "Not at all likely", "ces": "Very difficult"},
        "high": {"csat": "Very satisfied", "nps": "Extremely likely", "ces": "Very easy"},
        "need_score": "Choose a score.",
    },
    "ar": {
        "title": "رأيك يهمنا",
        "pick": "تقييمك",
        "comment": "هل تود إضافة شيء؟ (اختياري)",
        "send": "إرسال",
        "thanks": "شكرًا لملاحظاتك.",
        "expired": "انتهت صلاحية هذا الاستبيان. شكرًا لك على أي حال.",
        "answered": "تمت الإجابة على هذا الاستبيان. شكرًا لك.",
        "missing": "هذا الرابط غير صالح.",
        "low": {"csat": "غير راضٍ إطلاقًا", "nps": "غير محتمل إطلاقًا", "ces": "صعب جدًا"},
        "high": {"csat": "راضٍ جدًا", "nps": "محتمل جدًا", "ces": "سهل جدًا"},
        "need_score": "اختر تقييمًا.",
    },
}


def _page(lang: str, body: str, status: int = 200) -> HTMLResponse:
    return public_page(lang, PAGE_TEXT[lang]["title"], body, status)


def _form(req: SurveyRequest, lang: str, chosen: int | None, error: str = "") -> str:
    t = PAGE_TEXT[lang]
    low, high = surveys.KINDS.get(req.kind, (1, 5))
    entry = req.kind if req.kind in t["low"] else "csat"  # type: ignore[operator]
    options = "".join(
        f'<label class="score"><input type="radio" name="score" value="{n}"'
        f"{' checked' if n == chosen else ''}><span>{n}</span></label>"
        for n in range(low, high + 1)
    )
    err = f'<p class="error" id="score-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<form method="post">
<fieldset><legend>{html.escape(t["pick"])}</legend><div class="scale">{options}</div>
<div class="ends"><span>{html.escape(t["low"][entry])}</span><span>{html.escape(t["high"][entry])}</span></div>
{err}</fieldset>
<label for="comment">{html.escape(t["comment"])}</label>
<textarea id="comment" name="comment" maxlength="{surveys.MAX_COMMENT}" rows="4"></textarea>
<button type="submit">{html.escape(t["send"])}</button></form>"""


async def _request(hub: Hub, token: str) -> SurveyRequest | None:
    if not token or len(token) > 64:
        return None
    async with hub.db.session() as s:
        return (await s.exec(select(SurveyRequest).where(SurveyRequest.token == token))).first()


def page_router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/s/{token}")
    async def survey_page(
        token: str, request: Request, score: int | None = Query(default=None, ge=0, le=10)
    ) -> HTMLResponse:
        hub: Hub = request.app.state.hub
        req = await _request(hub, token)
        if req is None:
            return _page("en", f"<p>{html.escape(PAGE_TEXT['en']['missing'])}</p>", 404)
        lang = texts.language_of(req.language)
        t = PAGE_TEXT[lang]
        if req.status == "answered" and req.comment:
            return _page(lang, f'<p class="done">{html.escape(t["answered"])}</p>')
        if req.status not in ("sent", "answered") or (
            req.status == "sent" and req.expires_at is not None and req.expires_at <= hub.now()
        ):
            return _page(lang, f'<p class="done">{html.escape(t["expired"])}</p>', 410)
        # Showing the page records nothing: mail scanners open links too. The click
        # preselects the score; the customer sends it (with a comment if they like).
        return _page(lang, _form(req, lang, req.score if req.status == "answered" else score))

    @pages.post("/s/{token}")
    async def survey_answer(
        token: str,
        request: Request,
        score: int | None = Form(default=None, ge=0, le=10),
        comment: str = Form(default="", max_length=surveys.MAX_COMMENT),
    ) -> HTMLResponse:
        hub: Hub = request.app.state.hub
        req = await _request(hub, token)
        if req is None:
            return _page("en", f"<p>{html.escape(PAGE_TEXT['en']['missing'])}</p>", 404)
        lang = texts.language_of(req.language)
        t = PAGE_TEXT[lang]
        if score is None and req.status != "answered":
            return _page(lang, _form(req, lang, None, t["need_score"]), 422)
        try:
            await surveys.answer_by_token(
                hub, token, None if req.status == "answered" else score, comment, via="link"
            )
        except ServiceError as exc:
            key = {"already_answered": "answered", "survey_expired": "expired"}.get(exc.code, "missing")
            if exc.code == "validation_error":
                return _page(lang, _form(req, lang, None, t["need_score"]), 422)
            return _page(lang, f'<p class="done">{html.escape(t[key])}</p>', exc.status)
        return _page(lang, f'<p class="done">{html.escape(t["thanks"])}</p>')

    return pages
