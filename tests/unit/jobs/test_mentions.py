"""Mentions typed in a prompt are written out as names, never left as bare ids."""

from __future__ import annotations

from bot.jobs.mentions import MentionNames, mentioned, write_mentions_as_names
from bot.jobs.wording import prompt_preview

NAMES = MentionNames(users={123: "Alice"}, roles={55: "Moderators"}, channels={77: "general"})


def test_each_kind_of_mention_becomes_its_name() -> None:
    text = "<@123> and <@!123> dance with <@&55> in <#77>"
    assert (
        write_mentions_as_names(text, NAMES)
        == "@Alice and @Alice dance with @Moderators in #general"
    )


def test_unknown_mentions_say_so_and_everyone_stays_a_word() -> None:
    text = "<@999> <@&998> <#997> @everyone @here"
    assert write_mentions_as_names(text, NAMES) == (
        "@unknown member @unknown role #unknown channel @everyone @here"
    )


def test_the_ids_are_found_once_each_in_order() -> None:
    found = mentioned("<@2> <@1> <@!2> <@&5> <#9> <#9> <@3")
    assert (found.users, found.roles, found.channels) == ((2, 1), (5,), (9,))


def test_a_name_that_looks_like_a_mention_stays_a_name() -> None:
    names = MentionNames(users={1: "<@2>"})
    written = write_mentions_as_names("<@1>", names)
    assert "<@2>" not in written and mentioned(written).users == ()


def test_the_status_preview_shows_names_not_broken_ids() -> None:
    preview = prompt_preview(write_mentions_as_names("a waltz for <@123> @everyone", NAMES))
    assert preview == "> a waltz for @Alice @\u200beveryone"
