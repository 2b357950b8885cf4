"""getUpdates semantics and what simulated users produce (messages, callbacks, contacts, media)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import BadRequest, Conflict
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox.client import SandboxClient, SandboxError
from sandbox.media import sample_png
from sandbox.server import SandboxServer
from tests.sandbox.helpers import TOKEN, make_bot


async def wait_for_poll(server: SandboxServer) -> None:
    """Until the bot's long poll is parked on the server (no sleeping)."""
    assert await server.world.notifier.wait_for(lambda: server.botapi.polling, 5)


async def test_long_poll_returns_when_a_user_sends(
    bot: Bot, api: SandboxClient, server: SandboxServer
) -> None:
    siti = await api.user("siti")
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_for_poll(server)
    assert not poll.done()
    await siti.send("halo")
    [update] = await poll
    assert update.message is not None and update.message.text == "halo"
    assert update.message.from_user is not None
    assert update.message.from_user.id == siti.id
    assert update.message.from_user.language_code == "id"
    assert update.message.chat.id == siti.id and update.message.chat.type == "private"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()


async def test_offset_confirms_updates_forever(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    for text in ("satu", "dua", "tiga"):
        await u.send(text)
    first = await bot.get_updates()
    assert [x.message.text for x in first if x.message] == ["satu", "dua", "tiga"]
    # Unconfirmed updates are delivered again.
    again = await bot.get_updates()
    assert [x.update_id for x in again] == [x.update_id for x in first]
    # offset = id of "dua" confirms "satu" only.
    second = await bot.get_updates(offset=first[1].update_id)
    assert [x.message.text for x in second if x.message] == ["dua", "tiga"]
    # Forgotten forever: asking with an old offset does not bring "satu" back.
    assert [x.message.text for x in await bot.get_updates(offset=1) if x.message] == [
        "dua",
        "tiga",
    ]
    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()
    await u.send("empat")
    [last] = await bot.get_updates()
    assert last.message is not None and last.message.text == "empat"
    assert last.update_id == first[-1].update_id + 1


async def test_limit_and_negative_offset(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    for i in range(5):
        await u.send(f"m{i}")
    assert [x.message.text for x in await bot.get_updates(limit=2) if x.message] == ["m0", "m1"]
    assert [x.message.text for x in await bot.get_updates(offset=-2) if x.message] == ["m3", "m4"]
    # The negative offset forgot the earlier ones.
    assert len(await bot.get_updates()) == 2


async def test_allowed_updates_filters_new_updates(
    bot: Bot, api: SandboxClient, server: SandboxServer
) -> None:
    u = await api.user("u")
    await u.send("hai")
    await bot.send_message(
        u.id,
        "pilih",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    await bot.get_updates(allowed_updates=["message"])
    await u.press("A")
    await u.send("lagi")
    texts = [x.message.text for x in await bot.get_updates() if x.message]
    assert texts == ["hai", "lagi"]
    assert all(x.callback_query is None for x in await bot.get_updates())
    assert (await api.stats())["updates"]["dropped_by_allowed_updates"] == 1
    await bot.get_updates(allowed_updates=[])  # empty list: back to the default set
    await u.press("A")
    assert any(x.callback_query for x in await bot.get_updates())


async def test_second_poller_terminates_the_first_with_conflict(
    bot: Bot, server: SandboxServer
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_for_poll(server)
    async with make_bot(server) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_command_entities_like_telegram(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    await u.send("/start visit_42")
    await u.send("/help@homecare_sandbox_bot")
    await u.send("tolong /batal ya")
    start, help_, inline = (x.message for x in await bot.get_updates())
    assert start is not None and help_ is not None and inline is not None
    assert start.parse_entities([MessageEntityType.BOT_COMMAND]) == {start.entities[0]: "/start"}
    assert help_.parse_entities() == {help_.entities[0]: "/help@homecare_sandbox_bot"}
    assert inline.entities[0].offset == 7 and inline.entities[0].length == 6


async def test_press_inline_button_by_text_data_and_message(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    await u.send("/start")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Ya", callback_data="c:yes"),
                InlineKeyboardButton("Tidak", callback_data="c:no"),
            ]
        ]
    )
    older = await bot.send_message(u.id, "Lama", reply_markup=markup)
    newer = await bot.send_message(u.id, "Baru", reply_markup=markup)
    confirmed = (await bot.get_updates())[-1].update_id + 1

    by_text = await u.press("Ya")
    by_data = await u.press(data="c:no")
    on_older = await u.press("Ya", message_id=older.message_id)
    assert (by_text.message_id, by_data.message_id, on_older.message_id) == (
        newer.message_id,
        newer.message_id,
        older.message_id,
    )
    assert (
        len({by_text.callback_query_id, by_data.callback_query_id, on_older.callback_query_id}) == 3
    )

    queries = [x.callback_query for x in await bot.get_updates(offset=confirmed)]
    assert [(q.data, q.message.message_id) for q in queries if q and q.message] == [
        ("c:yes", newer.message_id),
        ("c:no", newer.message_id),
        ("c:yes", older.message_id),
    ]
    q = queries[0]
    assert q is not None and q.from_user.id == u.id and q.chat_instance
    assert isinstance(q.message, Message) and q.message.text == "Baru"
    assert q.id == by_text.callback_query_id

    assert await q.answer("Tersimpan", show_alert=True) is True
    answer = await u.callback_answer(by_text)
    assert answer is not None and answer.text == "Tersimpan" and answer.show_alert
    with pytest.raises(BadRequest, match="Query is too old"):
        await q.answer()
    assert await u.callback_answer(by_data, timeout=0) is None


async def test_press_errors_and_forged_data(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    with pytest.raises(SandboxError, match="not sent any message"):
        await u.press_forged("x")
    await u.send("/start")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("OK", callback_data="ok"),
                InlineKeyboardButton("Web", url="https://x.org"),
            ]
        ]
    )
    sent = await bot.send_message(u.id, "pilih", reply_markup=markup)
    with pytest.raises(SandboxError, match=r"no inline button with text 'Nope'.*\['OK', 'Web'\]"):
        await u.press("Nope")
    with pytest.raises(SandboxError, match="url button"):
        await u.press("Web")
    forged = await u.press_forged("admin:delete_all:" + "x" * 80)
    update = (await bot.get_updates())[-1]
    assert update.callback_query is not None
    assert update.callback_query.data == forged.data
    assert forged.message_id == sent.message_id
    # Buttons disappear with the edit; pressing them is no longer possible.
    await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=None)
    with pytest.raises(SandboxError, match="no inline keyboards"):
        await u.press("OK")


async def test_contact_location_and_reply_keyboard(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", phone_number="+6281234567890", last_name="Rahma")
    await u.send("/start")
    with pytest.raises(SandboxError, match="no reply keyboard"):
        await u.press_reply("Kirim nomor")
    keyboard = ReplyKeyboardMarkup(
        [
            [KeyboardButton("Kirim nomor", request_contact=True)],
            [KeyboardButton("Lokasi", request_location=True), "Batal"],
        ]
    )
    await bot.send_message(u.id, "Nomor?", reply_markup=keyboard)
    await u.press_reply("Kirim nomor")
    await u.press_reply("Lokasi", latitude=-5.15, longitude=119.42)
    await u.press_reply("Batal")
    await u.share_contact("+628111")
    await u.share_location(-5.1, 119.4)
    with pytest.raises(SandboxError, match="no reply keyboard button 'Oops'"):
        await u.press_reply("Oops")
    messages = [x.message for x in await bot.get_updates()][1:]
    assert all(m is not None for m in messages)
    contact, location, text, contact2, location2 = (m for m in messages if m)
    assert contact.contact is not None
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+6281234567890", u.id)
    assert contact.contact.last_name == "Rahma"
    assert location.location is not None and location.location.latitude == pytest.approx(-5.15)
    assert text.text == "Batal"
    assert contact2.contact is not None and contact2.contact.phone_number == "+628111"
    assert location2.location is not None and location2.location.longitude == pytest.approx(119.4)


async def test_user_media_reaches_the_bot_with_bytes(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    png = sample_png(10, 20)
    await u.send_photo(png, caption="luka /start")
    await u.send_sticker()
    await u.send_voice(duration=3)
    await u.send_document(b"a,b\n1,2\n", file_name="data.csv", mime_type="text/csv")
    photo, sticker, voice, document = (x.message for x in await bot.get_updates())
    assert photo is not None and photo.caption == "luka /start"
    assert photo.caption_entities[0].type == MessageEntityType.BOT_COMMAND
    assert (photo.photo[-1].width, photo.photo[-1].height) == (10, 20)
    photo_file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == png
    assert sticker is not None and sticker.sticker is not None and sticker.sticker.emoji
    assert voice is not None and voice.voice is not None
    assert voice.voice.to_dict()["duration"] == 3
    assert document is not None and document.document is not None
    assert document.document.file_name == "data.csv"
    doc_file = await bot.get_file(document.document.file_id)
    assert bytes(await doc_file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_application_with_handlers_end_to_end(
    server: SandboxServer, api: SandboxClient
) -> None:
    """PTB's Application + Updater polling the sandbox: CommandHandler args, callbacks."""
    seen: asyncio.Queue[Any] = asyncio.Queue()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await seen.put(("start", context.args))
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Setuju", callback_data="consent")]])
        await context.bot.send_message(update.effective_chat.id, "Setuju?", reply_markup=markup)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("OK")
        await update.callback_query.edit_message_text("Terima kasih")
        await seen.put(("pressed", update.callback_query.data))

    async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await seen.put(("text", update.message.text))

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.bot_api_base_url)
        .base_file_url(server.bot_api_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text))
    u = await api.user("siti")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await u.send("/start@homecare_sandbox_bot deep_link")
        assert await asyncio.wait_for(seen.get(), 10) == ("start", ["deep_link"])
        [question] = await u.wait_messages(1)
        press = await u.press("Setuju")
        assert await asyncio.wait_for(seen.get(), 10) == ("pressed", "consent")
        edited = await u.wait_edit(question)
        assert edited.plain_text == "Terima kasih" and edited.inline_keyboard == ()
        answer = await u.callback_answer(press)
        assert answer is not None and answer.text == "OK"
        await u.send("halo")
        assert await asyncio.wait_for(seen.get(), 10) == ("text", "halo")
        await app.updater.stop()
        await app.stop()
    # The updater's final getUpdates confirmed everything it handled.
    assert await api.pending_updates() == []
