"""A tiny discord.py bot used only by the simulator's self-tests.

Run through the harness (``python -m tests.support.fake_discord.launch <this module>``) with
``DEMO_TOKEN`` and ``DEMO_GUILD_ID`` set. Each command exercises one simulator feature.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re

import discord
from discord import app_commands
from discord.ext import commands

log = logging.getLogger("demo_bot")
GUILD = discord.Object(int(os.environ.get("DEMO_GUILD_ID", "0")))


class RetryButton(discord.ui.DynamicItem[discord.ui.Button], template=r"demo:retry:(?P<job>\d+)"):
    """Persistent button: any process that registered it handles clicks on old messages."""

    def __init__(self, job: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Retry", style=discord.ButtonStyle.primary, custom_id=f"demo:retry:{job}"
            )
        )
        self.job = job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RetryButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"retrying job {self.job}", view=None)


class DemoBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default())

    async def setup_hook(self) -> None:
        self.add_dynamic_items(RetryButton)
        self.tree.copy_global_to(guild=GUILD)
        await self.tree.sync(guild=GUILD)
        log.info("commands synced")

    async def on_ready(self) -> None:
        log.info("demo bot ready as %s", self.user)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.user is None or payload.user_id == self.user.id or str(payload.emoji) != "🔁":
            return
        channel = self.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        reference = discord.MessageReference(
            message_id=payload.message_id, channel_id=payload.channel_id, guild_id=payload.guild_id
        )
        await channel.send(
            f"retry requested by <@{payload.user_id}>",
            reference=reference,
            allowed_mentions=discord.AllowedMentions.none(),
        )


bot = DemoBot()


@bot.tree.command(description="Defer, then edit the original response and follow up")
async def ping(interaction: discord.Interaction) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.edit_original_response(content="pong")
    await interaction.followup.send("second")


@bot.tree.command(description="Defer ephemerally, then answer with a followup only")
async def think(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send("thought about it")


@bot.tree.command(description="Echo every option type back")
@app_commands.choices(
    style=[
        app_commands.Choice(name="Fast", value="fast"),
        app_commands.Choice(name="Slow", value="slow"),
    ]
)
async def options(
    interaction: discord.Interaction,
    text: str,
    count: app_commands.Range[int, 1, 10],
    flag: bool,
    who: discord.Member,
    role: discord.Role,
    style: app_commands.Choice[str],
    where: discord.TextChannel | None = None,
) -> None:
    summary = (
        f"text={text} count={count} flag={flag} who={who.id}:{type(who).__name__} "
        f"role={role.id}:{role.name} style={style.value} where={where.id if where else None} "
        f"locale={interaction.locale.value} limit={interaction.filesize_limit} "
        f"perms={interaction.permissions.value} app={interaction.app_permissions.value}"
    )
    await interaction.response.send_message(summary, ephemeral=True)


@bot.tree.command(description="Send an attachment back to the channel")
async def echo(
    interaction: discord.Interaction, image: discord.Attachment, caption: str = ""
) -> None:
    await interaction.response.defer(ephemeral=True)
    data = await image.read()
    assert interaction.channel is not None and isinstance(interaction.channel, discord.TextChannel)
    try:
        await interaction.channel.send(
            caption or None, file=discord.File(io.BytesIO(data), filename=image.filename)
        )
    except discord.HTTPException as exc:
        await interaction.followup.send(f"upload failed: {exc.status} {exc.code}")
        return
    await interaction.followup.send(f"echoed {image.filename} {len(data)} bytes")


@bot.tree.command(description="Post a channel message with a nonce, twice, then edit it")
async def nonce(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True)
    assert isinstance(interaction.channel, discord.TextChannel)
    key = f"job{interaction.id}"  # nonces are at most 25 characters
    first = await interaction.channel.send("job started", nonce=key)
    again = await interaction.channel.send("job started", nonce=key)
    await first.edit(content="job finished")
    await interaction.followup.send(f"ids {first.id} {again.id}")


@bot.tree.command(description="Answer only after a delay")
async def slow(interaction: discord.Interaction, delay: float) -> None:
    await asyncio.sleep(delay)
    try:
        await interaction.response.send_message("late answer")
    except discord.NotFound as exc:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send(f"late ack refused: {exc.code}")


@bot.tree.command(description="Follow up after a delay, falling back to the channel")
async def later(interaction: discord.Interaction, delay: float) -> None:
    await interaction.response.defer()
    await interaction.edit_original_response(content="working")
    await asyncio.sleep(delay)
    try:
        await interaction.followup.send("done via followup")
    except discord.HTTPException as exc:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send(f"done via channel after {exc.status} {exc.code}")


FRUITS = ("apple", "apricot", "banana")


async def fruit_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]


@bot.tree.command(description="Pick a fruit, with autocomplete")
@app_commands.autocomplete(fruit=fruit_choices)
async def pick(interaction: discord.Interaction, fruit: str) -> None:
    await interaction.response.send_message(f"picked {fruit}")


@bot.tree.command(description="DM a member")
async def dm(interaction: discord.Interaction, who: discord.Member) -> None:
    try:
        await who.send("hello from the demo bot")
    except discord.Forbidden as exc:
        await interaction.response.send_message(f"dm failed: {exc.code}", ephemeral=True)
        return
    await interaction.response.send_message("dm sent", ephemeral=True)


@bot.tree.command(description="Post a message with a persistent button")
async def button(interaction: discord.Interaction, job: int) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(RetryButton(job))
    await interaction.response.send_message(f"job {job} failed", view=view)


class NoteForm(discord.ui.Modal):
    """A form with a prefilled text box and an empty optional one; it answers with both."""

    def __init__(self, title: str) -> None:
        super().__init__(title=title, custom_id="demo:note")
        self.topic: discord.ui.TextInput[NoteForm] = discord.ui.TextInput(
            label="Topic", custom_id="topic", default="cats", max_length=20
        )
        self.body: discord.ui.TextInput[NoteForm] = discord.ui.TextInput(
            label="Body",
            custom_id="body",
            style=discord.TextStyle.paragraph,
            required=False,
        )
        self.add_item(self.topic)
        self.add_item(self.body)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        origin = interaction.message.id if interaction.message else None
        await interaction.response.send_message(
            f"note topic={self.topic.value} body={self.body.value!r} from={origin}",
            ephemeral=True,
        )


@bot.tree.command(description="Open a form")
async def form(interaction: discord.Interaction, title: str = "Write a note") -> None:
    try:
        await interaction.response.send_modal(NoteForm(title))
    except discord.HTTPException as exc:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send(f"form refused: {exc.status} {exc.code}")


@bot.tree.context_menu(name="Describe message")
async def describe(interaction: discord.Interaction, message: discord.Message) -> None:
    files = ", ".join(f"{a.filename}:{a.content_type}:{a.size}" for a in message.attachments)
    await interaction.response.send_message(
        f"message {message.id} by {message.author.id}: {message.content!r} files=[{files}]",
        ephemeral=True,
    )


quota = app_commands.Group(
    name="quota",
    description="Manage quotas",
    default_permissions=discord.Permissions(manage_guild=True),
)
settings = app_commands.Group(name="settings", description="Bot settings")
limits = app_commands.Group(name="limits", description="Limits", parent=settings)


@quota.command(description="Grant video credits")
async def grant(interaction: discord.Interaction, member: discord.Member, amount: int) -> None:
    await interaction.response.send_message(f"granted {amount} to {member.id}")


@limits.command(name="set", description="Set the limit")
async def limits_set(interaction: discord.Interaction, value: int) -> None:
    await interaction.response.send_message(f"limit={value}")


bot.tree.add_command(quota)
bot.tree.add_command(settings)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bot.run(os.environ["DEMO_TOKEN"], log_handler=None)


if __name__ == "__main__":
    main()
