"""What a member and a moderator do on the web, in chromium: sign in with Discord, play a video,
change a quota, and every page in Traditional Chinese (screenshots of each are kept)."""

from __future__ import annotations

import sqlite3

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import WebSite

VIEWPORT = {"width": 1280, "height": 860}


async def _new_page(browser: Browser, locale: str = "zh-TW") -> Page:
    context = await browser.new_context(locale=locale, viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return page


async def _sign_in_on_discord(page: Page, site: WebSite, user: str) -> None:
    """Through Discord's page: the member picks their account and authorises."""
    await page.goto(f"{site.base}/")
    await page.click("a.button.big")  # "使用 Discord 登入"
    await page.click(f"text=Authorize as {user}")
    await page.wait_for_url(f"{site.base}/")


async def test_a_member_signs_in_and_plays_their_video(browser: Browser, site: WebSite) -> None:
    page = await _new_page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await _sign_in_on_discord(page, site, "alice")
    await expect(page.locator("h1")).to_contain_text("Alice")
    await page.click("text=我的影片")
    await page.wait_for_url(f"{site.base}/me")
    video = page.locator(f"#job-{site.jobs['alice']} video")
    await expect(video).to_be_visible()
    # Playing needs no script of the page's own (there is none); start it as a click would.
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function(
        f"document.querySelector('#job-{site.jobs['alice']} video').readyState >= 3"
    )
    assert await video.evaluate("v => v.error === null && v.duration > 0.5")
    await page.screenshot(path=site.screenshots / "my-videos.png")
    # The private channel's video is not in the gallery for her.
    await page.goto(f"{site.base}/servers/{site.discord.guild_id}")
    await expect(page.locator(f"#job-{site.jobs['alice']}")).to_be_visible()
    assert await page.locator(f"#job-{site.jobs['mod']}").count() == 0
    assert not [e for e in errors if "Content Security Policy" in e], errors


async def test_a_moderator_changes_a_quota(browser: Browser, site: WebSite) -> None:
    page = await _new_page(browser)
    site.discord.oauth.signed_in = "mod"
    await page.goto(f"{site.base}/sign-in?next=/servers/{site.discord.guild_id}/quotas")
    await page.wait_for_url(f"{site.base}/servers/{site.discord.guild_id}/quotas")
    alice = site.discord.user("alice").id
    await page.fill("input[name=member]", str(alice))
    await page.click("form[action$='/quotas/member'] button")
    await page.wait_for_url(f"**/quotas/members/{alice}")
    form = page.locator("form[action$='/actions/set']")
    await form.locator("input[name=limit]").fill("8")
    await form.locator("input[name=reason]").fill("活動得獎")
    await form.locator("button").click()
    notice = page.locator(".notice.done")
    await expect(notice).to_contain_text("8")
    await expect(page.locator(".quota-lines")).to_contain_text("8")
    await page.screenshot(path=site.screenshots / "member-quota.png")
    with sqlite3.connect(site.database) as conn:
        rows = conn.execute(
            "SELECT action, via, target_user_id, reason FROM moderation_actions "
            "WHERE action = 'set_limit'"
        ).fetchall()
    assert rows == [("set_limit", "web", alice, "活動得獎")]


async def test_every_page_in_traditional_chinese(browser: Browser, site: WebSite) -> None:
    page = await _new_page(browser)
    site.discord.oauth.signed_in = "admin"
    await page.goto(f"{site.base}/sign-in?next=/")
    await page.wait_for_url(f"{site.base}/")
    guild = f"/servers/{site.discord.guild_id}"
    bob = site.discord.user("bob").id
    pages = {
        "home": ("/", "伺服器"),
        "gallery": (guild, "影片"),
        "dashboard": (f"{guild}/dashboard", "每日影片數"),
        "dashboard-90": (f"{guild}/dashboard?days=90", "最近 90 天"),
        "quotas": (f"{guild}/quotas", "身分組額度"),
        "member": (f"{guild}/quotas/members/{bob}", "額外影片"),
        "blocklist": (f"{guild}/blocklist", "禁用詞"),
        "log": (f"{guild}/log", "額度紀錄"),
        "language": (f"{guild}/language", "伺服器公開訊息"),
        "pictures": (f"{guild}/pictures", "圖片來源"),
        "my-videos-empty": ("/me", "我的影片"),
    }
    for name, (path, words) in pages.items():
        answer = await page.goto(site.base + path)
        assert answer is not None and answer.status == 200, name
        assert await page.get_attribute("html", "lang") == "zh-TW"
        await expect(page.locator("main")).to_contain_text(words)
        body = await page.inner_text("body")
        assert "Sign in" not in body and "Quota log" not in body, name  # no English left
        await page.screenshot(path=site.screenshots / f"{name}.png", full_page=True)
    # The signed-out welcome page, in the language the browser asks for.
    visitor = await _new_page(browser)
    await visitor.goto(f"{site.base}/")
    await expect(visitor.locator("main")).to_contain_text("使用 Discord 登入")
    await visitor.screenshot(path=site.screenshots / "welcome.png")
    # The charts are drawn: bars for the days with videos.
    await page.goto(f"{site.base}{guild}/dashboard")
    assert await page.locator("svg rect.bar").count() >= 30
