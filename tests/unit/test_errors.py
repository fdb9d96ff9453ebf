"""A refusal is plain text or a catalog message rendered in the member's language."""

from __future__ import annotations

from bot.errors import Refusal
from bot.i18n import Text


def test_a_plain_text_refusal_is_shown_as_it_is() -> None:
    refusal = Refusal("No quota left.")
    assert str(refusal) == "No quota left."
    assert refusal.text_for("zh-TW") == "No quota left."


def test_a_catalog_refusal_follows_the_members_language() -> None:
    refusal = Refusal(Text("iterate.animate.no_image"))
    assert str(refusal).startswith("That message has no picture I can use.")
    assert refusal.text_for("zh-TW").startswith("那則訊息裡沒有我能使用的圖片。")
    assert refusal.text_for("zh-CN").startswith("这条消息里没有我能用的图片。")
    assert refusal.text_for("fr") == str(refusal)
