"""What decides whether the slash commands are synced: a stable hash and its record."""

from __future__ import annotations

from bot.ops.command_sync import SyncRecords, payload_hash, sync_target
from bot.storage.database import Database

COMMAND = {
    "name": "sora",
    "description": "Make a video",
    "options": [{"name": "duration", "type": 4, "choices": [{"name": "10 seconds", "value": 10}]}],
}


def test_the_hash_is_stable_and_ignores_key_order() -> None:
    reordered = {key: COMMAND[key] for key in reversed(list(COMMAND))}
    assert payload_hash(1, [COMMAND]) == payload_hash(1, [reordered])
    assert len(payload_hash(1, [COMMAND])) == 64


def test_any_change_to_what_is_sent_changes_the_hash() -> None:
    base = payload_hash(1, [COMMAND])
    other_choice = {**COMMAND, "options": [{**COMMAND["options"][0], "choices": []}]}
    translated = {**COMMAND, "description_localizations": {"zh-TW": "製作影片"}}
    assert payload_hash(1, [other_choice]) != base
    assert payload_hash(1, [translated]) != base
    assert payload_hash(2, [COMMAND]) != base  # another application (bot token)
    assert payload_hash(1, []) != base


def test_targets() -> None:
    assert sync_target(None) == "global"
    assert sync_target(42) == "guild:42"


async def test_the_last_hash_is_kept_per_target_and_can_be_forgotten(db: Database) -> None:
    records = SyncRecords(db)
    assert await records.last_hash("global") is None
    await records.record("global", "a" * 64, 1.0)
    await records.record("guild:42", "b" * 64, 2.0)
    await records.record("global", "c" * 64, 3.0)
    assert await records.last_hash("global") == "c" * 64
    assert await records.last_hash("guild:42") == "b" * 64
    assert await records.forget() == 2
    assert await records.last_hash("global") is None
