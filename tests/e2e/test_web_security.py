"""The web side as an attacker meets it: forged forms and cookies, redirects elsewhere, paths
out of the media folder, and secrets that must never show."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.conftest import RIVYA_KEY
from tests.e2e.web_stack import client, video_in, web_stack
from tests.support.web_client import WebClient


async def test_forms_need_the_sessions_own_token_from_this_site(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        guild = f"/servers/{sim.guild_id}"
        target = {"target": str(sim.user("alice").id), "limit": "9"}
        async with client(stack, base) as mod, client(stack, base) as admin:
            await mod.sign_in("mod")
            await admin.sign_in("admin")
            admins_token = admin.csrf_of((await admin.get(f"{guild}/quotas")).text)
            for form in (
                target,  # no token
                target | {"csrf": "forged-token"},
                target | {"csrf": admins_token},  # another member's session's token
            ):
                refused = await mod.post(f"{guild}/actions/set", form)
                assert refused.status == 403 and "did not come from this site" in refused.text
            # From another site's page (a cross-site form post carries its Origin).
            mods_token = mod.csrf_of((await mod.get(f"{guild}/quotas")).text)
            foreign = await mod.post(
                f"{guild}/actions/set",
                target | {"csrf": mods_token},
                headers={"Origin": "https://evil.example"},
            )
            assert foreign.status == 403
            # Signed out: no form works.
            async with client(stack, base) as nobody:
                signed_out = await nobody.post(f"{guild}/actions/set", target | {"csrf": "x"})
                assert signed_out.status == 403
            assert stack.query("SELECT COUNT(*) FROM quota_member_overrides") == [(0,)]
            # The real thing passes, and sign-out is a form too.
            ok = await mod.post(f"{guild}/actions/set", target | {"csrf": mods_token})
            assert ok.status == 200
            assert stack.query("SELECT quota_limit FROM quota_member_overrides") == [(9,)]
            assert (await mod.post("/sign-out", {})).status == 403
            assert (await mod.post("/sign-out", {"csrf": mods_token})).url == f"{base}/"
            assert (await mod.get(f"{guild}/quotas", follow=False)).status == 302


async def test_sessions_and_sign_ins_cannot_be_forged_replayed_or_redirected(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        async with client(stack, base) as alice:
            landed = await alice.sign_in("alice")
            cookie = alice.cookie("sora_session")
            assert landed.url == f"{base}/me" and cookie
            # The session cookie is HttpOnly and SameSite=Lax, and lasts 7 days.
            raw = await alice.http.get(base + "/sign-in", allow_redirects=False)
            assert (
                "HttpOnly" in raw.headers["Set-Cookie"]
                and "SameSite=Lax" in raw.headers["Set-Cookie"]
            )
            raw.release()
            me = await alice.get("/me")
            assert me.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert "<script" not in me.text and "style=" not in me.text
            assert me.headers["X-Frame-Options"] == "DENY"
            assert me.headers["Cache-Control"] == "no-store"

        async with client(stack, base) as forger:
            for value in ("forged", cookie[:-2] + "xx", "x" * 500, "../../etc"):
                forger.set_cookie("sora_session", value)
                assert (await forger.get("/me", follow=False)).status == 302
            forger.set_cookie("sora_session", cookie)
            assert (await forger.get("/me")).status == 200  # the stolen cookie itself works...
            stack.query("UPDATE web_sessions SET expires_at = 1")
            assert (await forger.get("/me", follow=False)).status == 302  # ...until it expires

        # Only paths on this site are followed after signing in or switching language.
        for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil"):
            async with client(stack, base) as alice:
                landed = await alice.sign_in("alice", next_path=evil)
                assert landed.url == f"{base}/", evil
                switched = await alice.get("/language/zh-TW", params={"next": evil}, follow=False)
                assert switched.headers["Location"] == "/", evil

        # A callback without this browser's sign-in, with a wrong state, or used twice: refused.
        async with client(stack, base) as alice:
            first = await alice.http.get(base + "/sign-in", allow_redirects=False)
            authorize = first.headers["Location"]
            first.release()
            assert authorize.startswith(f"{sim.base_url}/oauth2/authorize?")
            assert "code_challenge_method=S256" in authorize and "state=" in authorize
            sim.oauth.signed_in = "alice"
            back = await alice.http.get(authorize, allow_redirects=False)
            callback = back.headers["Location"]
            back.release()
            async with client(stack, base) as thief:
                stolen = await thief.get(callback)
                assert stolen.status == 400 and thief.cookie("sora_session") is None
            wrong = callback.replace("state=", "state=x")
            assert (await alice.get(wrong)).status == 400
            assert (await alice.get(callback)).status == 400  # the sign-in was used up
            sim.oauth.signed_in = None

        # Sign-in attempts from one address are limited.
        async with client(stack, base) as flood:
            answers = [(await flood.get("/sign-in", follow=False)).status for _ in range(12)]
            assert answers[-1] == 429 and answers.count(302) <= 10

        # No secret anywhere: Discord's OAuth tokens were revoked at once and never shown.
        assert sim.oauth.issued and sim.oauth.issued == sim.oauth.revoked
        assert stack.bot is not None
        log = stack.bot.log_text()
        for secret in (*sim.oauth.issued, sim.oauth.client_secret, sim.token, RIVYA_KEY):
            assert secret not in log
        assert "code=" not in log
        stack.assert_clean_log()


# A reverse proxy at 127.0.0.2, as Docker's gateway is to the web inside a container; a browser
# that reaches the port itself connects from 127.0.0.1, which is then no proxy.
PROXY = "127.0.0.2"


async def test_sign_ins_count_per_browser_behind_a_trusted_proxy_only(tmp_path: Path) -> None:
    async with web_stack(tmp_path, WEB_TRUSTED_PROXIES=f"{PROXY},10.0.0.0/8") as (stack, base):

        async def attempt(http: aiohttp.ClientSession, forwarded: str) -> int:
            headers = {"X-Forwarded-For": forwarded}
            async with http.get(f"{base}/sign-in", headers=headers, allow_redirects=False) as r:
                return r.status

        proxy = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(PROXY, 0)))
        async with proxy, aiohttp.ClientSession() as direct:
            # Two members behind the proxy have 10 attempts each, not 10 together.
            alice = [await attempt(proxy, "203.0.113.7") for _ in range(10)]
            bob = [await attempt(proxy, "198.51.100.2, 10.0.0.5") for _ in range(10)]  # two hops
            assert alice == bob == [302] * 10
            assert await attempt(proxy, "203.0.113.7") == 429
            assert await attempt(proxy, "198.51.100.2") == 429
            # What a browser writes in front of its own address (the proxy appends) is not
            # believed: alice stays alice.
            assert await attempt(proxy, "192.0.2.1, 203.0.113.7") == 429
            assert await attempt(proxy, "192.0.2.1") == 302  # a third member is still welcome

            # A browser reaching the port itself cannot pick a new address for each try...
            forged = [await attempt(direct, f"192.0.2.{n}") for n in range(10, 22)]
            assert forged == [302] * 10 + [429] * 2
            # ...nor spend the attempts of the addresses it names.
            assert await attempt(proxy, "192.0.2.10") == 302

        assert stack.bot is not None
        log = stack.bot.log_text()
        assert f"X-Forwarded-For believed from {PROXY}/32, 10.0.0.0/8" in log
        assert "X-Forwarded-For from 127.0.0.1 is not believed" in log
        assert "192.0.2.1" not in log  # forged addresses are not written down
        stack.assert_clean_log()


async def test_paths_outside_the_media_folder_cannot_be_reached(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        job, _ = await video_in(stack, "alice", "general", "a quiet harbour")
        async with client(stack, base) as alice:
            await alice.sign_in("alice")
            for path in (
                "/videos/..%2F..%2F..%2Fetc%2Fpasswd/file",
                "/videos/1%2F..%2F..%2Fconfig.py/file",
                f"/videos/{job}%00/file",
                "/videos/-1/file",
                "/videos/99999999999999999999999/file",
                "/static/..%2F..%2Fconfig.py",
                "/static/../app.py",
                "/static/%2e%2e/%2e%2e/config.py",
            ):
                status, body, _ = await alice.get_bytes(path)
                assert status in (403, 404), path
                assert b"Secret(" not in body and b"import" not in body, path
            # A kept copy's recorded path pointing elsewhere is not served either.
            stack.query("UPDATE jobs SET video_path = ? WHERE id = ?", ("/etc/passwd", job))
            status, body, _ = await alice.get_bytes(f"/videos/{job}/file")
            assert status == 404 and b"root:" not in body
            assert (await alice.get_bytes("/static/style.css"))[0] == 200


async def test_pages_follow_the_members_language(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        stack.discord.user("bob").locale = "zh-TW"
        async with client(stack, base) as bob:
            landed = await bob.sign_in("bob")
            assert "我的影片" in landed.text and 'lang="zh-TW"' in landed.text
            switched = await bob.get("/language/zh-CN", params={"next": "/me"})
            assert "我的视频" in switched.text
        async with WebClient(base, stack.discord) as visitor:
            welcome = await visitor.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
            assert "使用 Discord 登录" in welcome.text
