"""First words through the sandbox over real HTTP: /start and /help in id and en, /bahasa, menus."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Account, InboxUpdate, OutboxMessage


async def test_start_in_bahasa_indonesia_by_default(app: HomecareApp, client: Any) -> None:
    ani = await client.user("ani", language_code="id")
    await ani.send("/start")
    (reply,) = await ani.wait_messages(1)
    assert "Selamat datang di <b>Puskesmas Kassi-Kassi</b>" in reply.text
    assert "112 / 119" in reply.text
    assert reply.parse_mode == "HTML"


async def test_start_in_english_from_telegram_language(app: HomecareApp, client: Any) -> None:
    john = await client.user("john", language_code="en-GB")
    await john.send("/start")
    (reply,) = await john.wait_messages(1)
    assert reply.text.startswith("Welcome to <b>Puskesmas Kassi-Kassi</b>")


async def test_help_lists_commands_in_each_language(app: HomecareApp, client: Any) -> None:
    for name, lang in (("budi", "id"), ("mary", "en")):
        user = await client.user(name, language_code=lang)
        await user.send("/help")
        (reply,) = await user.wait_messages(1)
        assert reply.text.startswith(t(lang, "common.help_intro"))
        assert f"/minta_kunjungan — {t(lang, 'commands.minta_kunjungan')}" in reply.text
        # Staff commands are not offered to a newcomer.
        assert "/hari_ini" not in reply.text
    # The default menus, in both languages.
    bob = await client.user("bob", language_code="en")
    assert {c["command"]: c["description"] for c in (await client.chat(bob.id))["commands"]}[
        "help"
    ] == "Help"


async def test_bahasa_switches_language_and_keeps_it(app: HomecareApp, client: Any) -> None:
    ani = await client.user("ani2", language_code="id")
    await ani.send("/bahasa")
    (choice,) = await ani.wait_messages(1)
    assert choice.button_texts == ["Bahasa Indonesia", "English"]
    await ani.press("English")
    (done,) = await ani.wait_messages(1)
    assert done.text == "Language changed to English."
    await ani.send("/help")
    (reply,) = await ani.wait_messages(1)
    assert reply.text.startswith("<b>Help</b>")
    async with app.db.read() as s:
        account = await s.scalar(select(Account).where(Account.telegram_user_id == ani.id))
    assert account is not None and account.language == "en" and account.language_chosen
    # The chat's command menu follows the language (queued before the /help reply, sent in order).
    chat = await client.chat(ani.id)
    menu = {c["command"]: c["description"] for c in chat["commands"]}
    assert menu["help"] == "Help"
    assert "hari_ini" not in menu


async def test_forged_language_button_changes_nothing(app: HomecareApp, client: Any) -> None:
    ani = await client.user("ani3", language_code="id")
    await ani.send("/bahasa")
    await ani.wait_messages(1)
    press = await ani.press_forged("lang:xx")
    await ani.send("/help")
    (reply,) = await ani.wait_messages(1)
    assert reply.text.startswith(t("id", "common.help_intro"))
    answers = await client.callback_answers(ani.id)
    assert any(a.text == t("id", "common.stale_button") for a in answers), (press, answers)


async def test_unknown_command_and_text_are_answered(app: HomecareApp, client: Any) -> None:
    u = await client.user("udin")
    await u.send("/entah")
    (r1,) = await u.wait_messages(1)
    assert r1.text == t("id", "common.unknown_command", command="/entah")
    await u.send("halo")
    (r2,) = await u.wait_messages(1)
    assert r2.text == t("id", "common.not_understood")


async def test_each_update_is_stored_handled_once_and_replied_once(
    app: HomecareApp, client: Any
) -> None:
    u = await client.user("sari")
    for text in ("/start", "/help", "/bahasa"):
        await u.send(text)
    await u.wait_messages(3)
    async with app.db.read() as s:
        statuses = list(await s.scalars(select(InboxUpdate.status)))
        replies = (
            await s.execute(
                select(OutboxMessage.source_update_id, func.count())
                .where(OutboxMessage.method == "sendMessage")
                .group_by(OutboxMessage.source_update_id)
            )
        ).all()
    assert statuses == ["done", "done", "done"]
    assert sorted(n for _, n in replies) == [1, 1, 1]


def test_flood_control_warns_once_then_drops_until_refilled() -> None:
    from bot.guard import FloodControl

    fc = FloodControl(burst=3, per_second=1.0)
    assert [fc.check(1, 0.0) for _ in range(3)] == ["ok", "ok", "ok"]
    assert fc.check(1, 0.0) == "warn"
    assert fc.check(1, 0.1) == "drop"
    assert fc.check(2, 0.1) == "ok"  # others are not affected
    assert fc.check(1, 1.2) == "ok"  # refilled
    assert fc.check(1, 1.2) == "warn"


async def test_flooding_user_gets_one_slow_down(
    make_config: Any, sandbox: Any, database: Any, client: Any
) -> None:
    import dataclasses

    from bot.app import build_application
    from bot.guard import FloodControl

    cfg = make_config(sandbox)
    # Replies are paced at about 1/s per chat; this test is about the guard, not the pacing.
    cfg = cfg.replace(
        delivery=dataclasses.replace(cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=50)
    )
    app = build_application(cfg, db=database)
    app.flood = FloodControl(clock=lambda: 0.0)  # time stands still: no refill mid-test
    await app.start()
    try:
        u = await client.user("spammer")
        for _ in range(20):
            await u.send("halo")
        await u.send("/help")
        msgs = await u.wait_messages(16, timeout=20)
    finally:
        await app.stop()
    texts = [m.text for m in msgs]
    assert texts.count(t("id", "common.too_fast")) == 1
    assert len(texts) == 16
