"""PTB's Bot against the sandbox over real HTTP: sending, reading back, Telegram's errors."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken

from sandbox.client import InlineButton, ReplyButton, SandboxClient
from sandbox.media import sample_png
from sandbox.server import SandboxServer
from tests.sandbox.helpers import TOKEN, make_bot


async def test_get_me_reports_the_token_bot_id_and_username(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == int(TOKEN.split(":")[0])
    assert me.is_bot is True
    assert me.username == "homecare_sandbox_bot"
    assert bot.username == "homecare_sandbox_bot"  # PTB's initialize() called getMe


async def test_unconfigured_token_is_unauthorized() -> None:
    async with SandboxServer(tokens=[TOKEN]) as server:
        async with make_bot(server) as good:
            assert (await good.get_me()).id == 123456789
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await make_bot(server, token="42:other").initialize()
        assert server.stats.to_dict()["methods"]["getMe"] == {"ok": 2, "unauthorized": 1}


async def test_send_message_round_trip_and_read_back(bot: Bot, api: SandboxClient) -> None:
    siti = await api.user("siti", started=True)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Setuju", callback_data="consent:yes")],
            [InlineKeyboardButton("Peta", url="https://maps.example.org/x")],
        ]
    )
    sent = await bot.send_message(
        siti.id,
        "<b>Halo</b> Siti &amp; keluarga",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert sent.chat.id == siti.id
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Halo Siti & keluarga"
    assert sent.entities[0].type == "bold"
    assert sent.reply_markup == keyboard

    [message] = await siti.wait_messages(1)
    assert message.message_id == sent.message_id
    assert message.text == "<b>Halo</b> Siti &amp; keluarga"  # stored as given
    assert message.plain_text == "Halo Siti & keluarga"
    assert message.parse_mode == "HTML"
    assert message.inline_keyboard == (
        (InlineButton("Setuju", "consent:yes", None),),
        (InlineButton("Peta", None, "https://maps.example.org/x"),),
    )
    assert message.button_rows() == [
        [("Setuju", "consent:yes")],
        [("Peta", "https://maps.example.org/x")],
    ]
    assert siti.buttons(message)[0].callback_data == "consent:yes"
    assert message.link_preview_options == {"is_disabled": True}
    assert not message.edited and not message.deleted


async def test_reply_keyboard_remove_and_force_reply(bot: Bot, api: SandboxClient) -> None:
    ani = await api.user("ani", started=True)
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Kirim nomor", request_contact=True)], ["Batal"]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await bot.send_message(ani.id, "Nomor HP?", reply_markup=keyboard)
    await bot.send_message(ani.id, "Terima kasih", reply_markup=ReplyKeyboardRemove())
    await bot.send_message(ani.id, "Alamat?", reply_markup=ForceReply())
    first, removed, forced = await ani.wait_messages(3)
    assert first.reply_keyboard == (
        (ReplyButton("Kirim nomor", True, False),),
        (ReplyButton("Batal", False, False),),
    )
    assert first.raw["reply_keyboard_options"]["one_time_keyboard"] is True
    assert removed.remove_keyboard and forced.force_reply
    assert await ani.reply_keyboard() is None


async def test_messages_ids_are_per_chat_and_shared_with_the_user(
    bot: Bot, api: SandboxClient
) -> None:
    a = await api.user("a")
    b = await api.user("b")
    assert await a.send("/start") == 1
    await b.send("/start")
    assert (await bot.send_message(a.id, "1")).message_id == 2
    assert (await bot.send_message(b.id, "1")).message_id == 2
    assert await a.send("lagi") == 3


async def test_chat_not_found_and_cannot_initiate(bot: Bot, api: SandboxClient) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message("@someone", "x")
    quiet = await api.user("quiet")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(quiet.id, "x")
    await quiet.send("halo")
    await bot.send_message(quiet.id, "now it works")


async def test_blocked_user_is_forbidden_until_unblocked(bot: Bot, api: SandboxClient) -> None:
    budi = await api.user("budi", started=True)
    await budi.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(budi.id, "x")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_chat_action(budi.id, "typing")
    await budi.unblock()
    await bot.send_message(budi.id, "x")
    updates = await bot.get_updates()
    statuses = [
        (u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
        for u in updates
        if u.my_chat_member
    ]
    assert statuses == [("member", "kicked"), ("kicked", "member")]


async def test_message_too_long_counts_text_after_parsing(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await bot.send_message(u.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(u.id, "&amp;" * 4096, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(u.id, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(u.id, "<i>" + "é" * 4097 + "</i>", parse_mode="HTML")


async def test_empty_text_and_bad_markup_are_rejected(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    for text in ("", "   \n", "<b> </b>"):
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(u.id, text, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(u.id, "Nama: <Budi>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(u.id, "Jam 08.00", parse_mode=ParseMode.MARKDOWN_V2)
    assert await u.messages() == []


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33, ""])
async def test_callback_data_longer_than_64_bytes_or_empty_is_invalid(
    bot: Bot, api: SandboxClient, data: str
) -> None:
    u = await api.user("u", started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(u.id, "pilih", reply_markup=markup)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32)]])
    await bot.send_message(u.id, "pilih", reply_markup=ok)


async def test_edit_text_keeps_history_and_drops_keyboard_when_omitted(
    bot: Bot, api: SandboxClient
) -> None:
    u = await api.user("u", started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await bot.send_message(u.id, "Versi 1", reply_markup=markup)
    [original] = await u.wait_messages(1)

    edited = await bot.edit_message_text("Versi <b>2</b>", u.id, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, Message)
    assert edited.text == "Versi 2" and edited.edit_date is not None
    assert edited.reply_markup is None  # Telegram removes the keyboard when none is passed

    now = await u.wait_edit(original)
    assert now.edited and now.version == 1
    assert now.text == "Versi <b>2</b>" and now.plain_text == "Versi 2"
    assert now.inline_keyboard == ()
    assert [(v.text, v.reply_markup) for v in now.edit_history] == [
        ("Versi 1", {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]})
    ]
    await u.expect_no_message(timeout=0)  # edits are not new messages


async def test_edit_errors(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await bot.send_message(u.id, "<b>Sama</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Sama</b>", u.id, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    with pytest.raises(BadRequest, match="Message is not modified"):
        # Same text and entities in another parse mode is the same content for Telegram.
        await bot.edit_message_text(
            "*Sama*", u.id, sent.message_id, parse_mode="MarkdownV2", reply_markup=markup
        )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", u.id, 999)
    user_message = await u.send("halo")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", u.id, user_message)
    await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=None)
    assert (await u.last_message()) is not None
    assert (await u.messages())[0].inline_keyboard == ()


async def test_delete_message_is_flagged_and_not_editable(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    first = await bot.send_message(u.id, "hapus saya")
    second = await bot.send_message(u.id, "tetap")
    assert await bot.delete_message(u.id, first.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(u.id, first.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", u.id, first.message_id)
    messages = await u.messages()
    assert [(m.plain_text, m.deleted) for m in messages] == [
        ("hapus saya", True),
        ("tetap", False),
    ]
    last = await u.last_message()
    assert last is not None and last.message_id == second.message_id


async def test_send_document_and_photo_keep_bytes_and_names(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    doc = await bot.send_document(
        u.id, pdf, filename="laporan.pdf", caption="<i>Laporan</i>", parse_mode="HTML"
    )
    assert doc.document is not None and doc.document.file_name == "laporan.pdf"
    assert doc.document.mime_type == "application/pdf"
    assert doc.caption == "Laporan"
    png = sample_png(120, 80)
    photo = await bot.send_photo(u.id, png, caption="rute")
    assert photo.photo[-1].width == 120 and photo.photo[-1].height == 80

    sent_doc, sent_photo = await u.wait_messages(2)
    assert sent_doc.kind == "document" and sent_doc.caption == "<i>Laporan</i>"
    assert sent_doc.document is not None and sent_doc.document.file_size == len(pdf)
    assert await api.file_bytes(sent_doc.document) == pdf
    assert sent_photo.photo is not None and sent_photo.photo.file_size == len(png)
    assert sent_photo.photo.mime_type == "image/png"
    assert sent_photo.photo.file_path.endswith(".png")
    assert await u.file_bytes(sent_photo.photo) == png

    report = b'{"visits": 3}'
    await bot.send_document(u.id, report, filename="report.json")
    [json_doc] = await u.wait_messages(1)
    assert json_doc.document is not None and json_doc.document.mime_type == "application/json"
    assert await api.file_bytes(json_doc.document) == report

    # Re-sending by file_id reuses the stored file; getFile + download return the bytes.
    again = await bot.send_document(u.id, doc.document.file_id)
    assert again.document is not None and again.document.file_id == doc.document.file_id
    file = await bot.get_file(doc.document.file_id)
    assert file.file_path is not None and file.file_path.startswith(bot.base_file_url)
    assert bytes(await file.download_as_bytearray()) == pdf


async def test_file_errors(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(u.id, b"%PDF-1.4 not an image", filename="x.jpg")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(u.id, "no-such-file-id")
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_document(u.id, b"", filename="empty.txt")
    with pytest.raises(BadRequest, match="Wrong file_id"):
        await bot.get_file("nothing")
    photo = await bot.send_photo(u.id, sample_png())
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type photo as document"):
        await bot.send_document(u.id, photo.photo[-1].file_id)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(u.id, b"x", filename="x.txt", caption="c" * 1025)


async def test_location_and_chat_action(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    sent = await bot.send_location(u.id, latitude=-5.1477, longitude=119.4327)
    assert sent.location is not None and sent.location.latitude == pytest.approx(-5.1477)
    assert await bot.send_chat_action(u.id, "typing") is True
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(u.id, "dancing")
    [message] = await u.wait_messages(1)
    assert message.kind == "location" and message.location == {
        "latitude": -5.1477,
        "longitude": 119.4327,
    }
    assert await u.chat_actions() == ["typing"]


async def test_reply_to_message(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    question = await u.send("jam berapa?")
    answer = await bot.send_message(u.id, "jam 9", reply_to_message_id=question)
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "jam berapa?"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(u.id, "x", reply_to_message_id=999)
    [message] = await u.wait_messages(1)
    assert message.reply_to_message_id == question


async def test_commands_menu_per_scope_and_language(bot: Bot, api: SandboxClient) -> None:
    siti = await api.user("siti", language_code="id")
    john = await api.user("john", language_code="en")
    nurse = await api.user("nurse", language_code="id")
    await bot.set_my_commands([BotCommand("start", "Mulai"), BotCommand("bantuan", "Bantuan")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands(
        [BotCommand("rute", "Rute hari ini")], scope=BotCommandScopeChat(nurse.id)
    )
    assert await siti.commands() == [("start", "Mulai"), ("bantuan", "Bantuan")]
    assert await john.commands() == [("start", "Start")]
    assert await nurse.commands() == [("rute", "Rute hari ini")]
    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(nurse.id))
    assert [c.command for c in fetched] == ["rute"]
    assert await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == ()

    await bot.delete_my_commands(scope=BotCommandScopeChat(nurse.id))
    assert await nurse.commands() == [("start", "Mulai"), ("bantuan", "Bantuan")]
    scopes = await api.commands()
    assert {(s["scope"]["type"], s["language_code"]) for s in scopes} == {
        ("default", ""),
        ("default", "en"),
    }
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Mulai")])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([BotCommand("x", "y")], scope=BotCommandScopeChat(1))


async def test_webhook_info_and_get_chat(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("siti", last_name="Aminah")
    await u.send("halo")
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 1
    chat = await bot.get_chat(u.id)
    assert (chat.type, chat.first_name, chat.last_name) == ("private", "Siti", "Aminah")
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert (await bot.get_webhook_info()).pending_update_count == 0
    assert await bot.log_out() is True and await bot.close() is True


async def test_other_media_contact_pins_and_reactions(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    voice = await bot.send_voice(u.id, b"OggS" + b"\0" * 50, duration=4)
    assert voice.voice is not None and voice.voice.file_size == 54
    audio = await bot.send_audio(u.id, b"ID3" + b"\0" * 20, filename="lagu.mp3")
    assert audio.audio is not None and audio.audio.file_name == "lagu.mp3"
    video = await bot.send_video(u.id, b"\0\0\0\x18ftypmp42", filename="v.mp4")
    assert video.video is not None
    contact = await bot.send_contact(u.id, phone_number="+62411", first_name="Puskesmas")
    assert contact.contact is not None and contact.contact.phone_number == "+62411"
    assert await bot.pin_chat_message(u.id, contact.message_id) is True
    assert await bot.unpin_chat_message(u.id) is True
    with pytest.raises(BadRequest, match="Message to unpin not found"):
        await bot.unpin_chat_message(u.id)
    assert await bot.set_message_reaction(u.id, contact.message_id, "👍") is True
    member = await bot.get_chat_member(u.id, u.id)
    assert member.status == "member" and member.user.id == u.id

    messages = await u.wait_messages(4)
    assert [m.kind for m in messages] == ["voice", "audio", "video", "contact"]
    assert messages[0].file is not None
    assert await u.file_bytes(messages[0].file) == b"OggS" + b"\0" * 50
    assert messages[3].contact == {"phone_number": "+62411", "first_name": "Puskesmas"}
    events = [e["type"] for e in (await api.events(u.id))["events"]]
    assert events[-3:] == ["pin", "unpin", "reaction"]


async def test_real_but_unsimulated_methods_say_so(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    with pytest.raises(BadRequest, match=r"(?i)method_not_simulated.*sendpoll"):
        await bot.send_poll(u.id, "Q?", ["a", "b"])
