"""Users, presence and teams."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, or_
from sqlmodel import col, select

from hub.api.deps import Principal, current_actor, current_principal, get_hub, session_token_hash
from hub.api.schemas import (
    MAX_ID,
    ForceResetIn,
    ForceResetOut,
    Id,
    MembersIn,
    Page,
    PresenceIn,
    TeamIn,
    TeamOut,
    TeamPatch,
    UserCreatedOut,
    UserDefaultsOut,
    UserIn,
    UserOut,
    UserPatch,
)
from hub.context import Hub
from hub.models import Team, TeamMember, User
from hub.services import credentials
from hub.services import users as svc
from hub.services.access import Actor
from hub.services.errors import NotFound
from hub.services.staff_mail import reset_url, send_reset, smtp_settings

router = APIRouter(tags=["users"])


async def user_out(hub: Hub, user: User) -> UserOut:
    async with hub.db.session() as s:
        team_ids = (await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id))).all()
    return UserOut.model_validate(user, from_attributes=True).model_copy(
        update={"team_ids": sorted(team_ids)}
    )


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    q: str = Query(default="", max_length=100, description="words of the name or email (any case)"),
    limit: int | None = Query(
        default=None, ge=1, le=200, description="a page of this many (admin list); without: everyone"
    ),
    cursor: int | None = Query(default=None, ge=0, le=MAX_ID, description="next_cursor of the previous page"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[UserOut]:
    """Every signed-in staff member may list colleagues (for transfers and @mentions).
    With ``q``/``limit`` a page of them, by name (the admin list; issue 16)."""
    stmt = select(User).order_by(col(User.name), col(User.id))
    for word in q.lower().split()[:8]:
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(col(User.name)).like(like, escape="\\"),
                func.lower(col(User.email)).like(like, escape="\\"),
            )
        )
    offset = cursor or 0
    if limit is not None:
        stmt = stmt.offset(offset).limit(limit + 1)
    async with hub.db.session() as s:
        users = list((await s.exec(stmt)).all())
        more = limit is not None and len(users) > limit
        users = users[:limit] if limit is not None else users
        ids = [u.id for u in users]
        paged = limit is not None or bool(q.strip())
        members_of = (
            select(TeamMember).where(col(TeamMember.user_id).in_(ids)) if paged else select(TeamMember)
        )
        members = (await s.exec(members_of)).all()
    teams: dict[int, list[int]] = {}
    for m in members:
        teams.setdefault(m.user_id, []).append(m.team_id)
    return Page[UserOut](
        items=[
            UserOut.model_validate(u, from_attributes=True).model_copy(
                update={"team_ids": sorted(teams.get(u.id or 0, []))}
            )
            for u in users
        ],
        next_cursor=offset + len(users) if more else None,
    )


@router.post("/users", response_model=UserCreatedOut, status_code=201)
async def create_user(
    body: UserIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> UserCreatedOut:
    user, generated = await svc.create_user(
        hub,
        actor,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        language=body.language,
        team_ids=body.team_ids,
        skills=body.skills,
        languages=body.languages,
        capacity=body.capacity,
    )
    return UserCreatedOut(user=await user_out(hub, user), generated_password=generated)


@router.get("/users/defaults", response_model=UserDefaultsOut)
async def user_defaults(actor: Actor = Depends(current_actor)) -> UserDefaultsOut:
    """The defaults a new user gets (the admin form starts from them)."""
    return UserDefaultsOut(capacity=dict(svc.CHANNEL_CAPACITY_DEFAULT))


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(
    user_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> UserOut:
    async with hub.db.session() as s:
        user = await s.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return await user_out(hub, user)


@router.patch("/users/{user_id}", response_model=UserOut)
async def patch_user(
    user_id: Id,
    body: UserPatch,
    request: Request,
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> UserOut:
    """A new ``password`` (admins) ends that user's sessions — but not the admin's own
    current one when they change their own. The last active admin cannot be demoted
    or deactivated (409 ``last_admin``)."""
    keep = session_token_hash(request, principal) if user_id == principal.user.id else None
    user = await svc.update_user(
        hub, principal.actor, user_id, body.model_dump(exclude_unset=True), keep_session=keep
    )
    return await user_out(hub, user)


@router.post("/users/{user_id}/password-reset", response_model=ForceResetOut)
async def force_password_reset(
    user_id: Id, body: ForceResetIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ForceResetOut:
    """Admins: clear the user's password (their sessions end; their API tokens too with
    ``revoke_tokens``) and mail them a reset link. Without mail set up, or when the mail
    fails, the link is returned instead for the admin to pass on."""
    from channels.base import SendError

    link = await credentials.force_reset(hub, actor, user_id, revoke_api_tokens=body.revoke_tokens)
    cfg = smtp_settings(hub)
    error = None if cfg is not None else "no [channels.email] is configured to mail it"
    if cfg is not None:
        try:
            await send_reset(hub, cfg, link, forced=True)
        except SendError as exc:
            error = exc.reason
    return ForceResetOut(
        mailed=error is None,
        reset_url=reset_url(hub, link) if error is not None else None,
        expires_at=link.expires_at,
        mail_error=error,
    )


@router.put("/users/{user_id}/presence", response_model=UserOut)
async def put_presence(
    user_id: Id, body: PresenceIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> UserOut:
    user = await svc.set_presence(hub, actor, user_id, body.presence.value, reason="manual")
    return await user_out(hub, user)


async def team_out(hub: Hub, team: Team) -> TeamOut:
    async with hub.db.session() as s:
        ids = (await s.exec(select(TeamMember.user_id).where(TeamMember.team_id == team.id))).all()
    return TeamOut.model_validate(team, from_attributes=True).model_copy(update={"member_ids": sorted(ids)})


@router.get("/teams", response_model=Page[TeamOut])
async def list_teams(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> Page[TeamOut]:
    async with hub.db.session() as s:
        teams = (await s.exec(select(Team).order_by(col(Team.name)))).all()
    return Page[TeamOut](items=[await team_out(hub, t) for t in teams])


@router.post("/teams", response_model=TeamOut, status_code=201)
async def create_team(
    body: TeamIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TeamOut:
    team = await svc.create_team(
        hub,
        actor,
        name=body.name,
        description=body.description,
        routing=body.routing,
        business_hours=body.business_hours,
    )
    return await team_out(hub, team)


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(
    team_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TeamOut:
    async with hub.db.session() as s:
        team = await s.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return await team_out(hub, team)


@router.patch("/teams/{team_id}", response_model=TeamOut)
async def patch_team(
    team_id: Id, body: TeamPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TeamOut:
    team = await svc.update_team(hub, actor, team_id, body.model_dump(exclude_unset=True))
    return await team_out(hub, team)


@router.put("/teams/{team_id}/members", response_model=TeamOut)
async def put_members(
    team_id: Id, body: MembersIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TeamOut:
    await svc.set_team_members(hub, actor, team_id, body.user_ids)
    return await get_team(team_id, actor, hub)


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(
    team_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await svc.delete_team(hub, actor, team_id)
    return Response(status_code=204)
