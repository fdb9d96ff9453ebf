"""Quotas on the web: the server's rules, one member's quota, the blocklist, the server's
language and whose pictures "Make a video" takes, with forms for every `/quota` action.
Each form runs the `/quota` decision itself (bot/web/decisions.py) and the page after it says
what was done or why not, in the moderator's language, as the command's private answer
would."""

from __future__ import annotations

from aiohttp import web

from bot.errors import Refusal
from bot.i18n import Text
from bot.moderation.log_channel import post_to_log_channel
from bot.quota.blocklist import MAX_ENTRIES_PER_GUILD
from bot.storage import blocklist as blocklist_rows
from bot.storage import dashboard
from bot.storage import rules as rule_rows
from bot.web import decisions
from bot.web.app import (
    PageError,
    guild_id_of,
    locale_of,
    moderator_standing,
    names_for,
    notify,
    page,
    said,
    snowflake,
    web_of,
)
from bot.web.rendering import plain_text


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/servers/{guild_id}/quotas", quotas)
    router.add_get("/servers/{guild_id}/quotas/member", find_member)
    router.add_get("/servers/{guild_id}/quotas/members/{user_id}", member_quota)
    router.add_get("/servers/{guild_id}/blocklist", blocklist)
    router.add_get("/servers/{guild_id}/language", language)
    router.add_get("/servers/{guild_id}/pictures", pictures)
    router.add_post("/servers/{guild_id}/actions/{action}", run_action)


async def quotas(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    async with w.services.db.reading() as conn:
        default = await rule_rows.guild_default(conn, guild_id)
        overrides = await dashboard.member_overrides(conn, guild_id)
        blocks = await dashboard.blocks(conn, guild_id)
        role_limits = await dashboard.role_limits(conn, guild_id)
    people = [f"<@{row.target_id}>" for row in (*overrides, *blocks)]
    names = await names_for(w, standing, people)
    defaults = w.services.policy.defaults
    roles = sorted(
        (role for role in standing.guild.roles if role.id != guild_id and not role.managed),
        key=lambda role: -role.position,
    )
    return page(
        request,
        "quotas.html",
        guild=standing.guild,
        moderator=True,
        default=default,
        settings_default=(defaults.limit, defaults.period),
        periods=decisions.QUOTA_PERIODS,
        overrides=overrides,
        blocks=blocks,
        roles=roles,
        role_limits=role_limits,
        names=names.users,
        **decisions.form_limits(w.services.moderation),
    )


async def find_member(request: web.Request) -> web.Response:
    guild_id = guild_id_of(request)
    await moderator_standing(request, guild_id)
    member_id = snowflake(request.query.get("member", ""))
    if member_id is None:
        raise PageError(400, Text("web.refusal.member_id"))
    return web.Response(
        status=303, headers={"Location": f"/servers/{guild_id}/quotas/members/{member_id}"}
    )


async def member_quota(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    member_id = snowflake(request.match_info["user_id"])
    if member_id is None:
        raise PageError(404, Text("web.error.not_found"))
    member = await w.api.member(guild_id, member_id)
    roles = member.role_ids if member is not None else ()
    locale = locale_of(request)
    lines = await decisions.quota_lines(w.services.moderation, standing, member_id, roles, locale)
    names = await names_for(w, standing, lines)
    return page(
        request,
        "member_quota.html",
        guild=standing.guild,
        moderator=True,
        member_id=member_id,
        member_name=member.name if member is not None else None,
        lines=[plain_text(line, locale, w.zone, names) for line in lines],
        **decisions.form_limits(w.services.moderation),
    )


async def blocklist(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    async with w.services.db.reading() as conn:
        entries = await blocklist_rows.entries(conn, guild_id)
    return page(
        request,
        "blocklist.html",
        guild=standing.guild,
        moderator=True,
        entries=entries,
        most_entries=MAX_ENTRIES_PER_GUILD,
        **decisions.form_limits(w.services.moderation),
    )


async def language(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    current = await w.services.languages.server_setting(guild_id)
    return page(
        request,
        "language.html",
        guild=standing.guild,
        moderator=True,
        current=current,
        choices=decisions.LANGUAGE_CHOICES,
        **decisions.form_limits(w.services.moderation),
    )


async def pictures(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    return page(
        request,
        "pictures.html",
        guild=standing.guild,
        moderator=True,
        current=await decisions.pictures_setting(w.services.moderation, guild_id),
        choices=decisions.PICTURE_CHOICES,
        **decisions.form_limits(w.services.moderation),
    )


# Where each action's page is, to come back to after the form.
_BACK = {
    "default": "quotas",
    "role": "quotas",
    "role-clear": "quotas",
    "blocklist-add": "blocklist",
    "blocklist-remove": "blocklist",
    "language": "language",
    "pictures": "pictures",
}


async def run_action(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    action = request.match_info["action"]
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    target = snowflake(fields.get("target", ""))
    back = f"/servers/{guild_id}/{_BACK.get(action, 'quotas')}"
    if action not in _BACK and target is not None:
        back = f"/servers/{guild_id}/quotas/members/{target}"
    try:
        done = await decisions.act(w.services.moderation, standing, action, target, fields)
    except Refusal as refusal:
        notify(request, "refused", await said(request, standing, refusal.reason))
    else:
        notify(request, "done", await said(request, standing, done.reply))
        await post_to_log_channel(
            decisions.WebLogChannel(w.api, standing),
            w.settings.quota_log_channel_id,
            done.log_line,
            languages=w.services.languages,
            from_guild_id=standing.guild_id,
        )
    return web.Response(status=303, headers={"Location": back})
