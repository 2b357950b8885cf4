"""The sandbox's browser chat in headless chromium: a family registers with the real bot (in
Indonesian and in English) by typing, pressing inline and reply-keyboard buttons, sharing the
phone number and a location pin; and against a bare PTB bot: photos and documents show, edits,
deletions and callback answers appear, a plain reply button sends its label, and a user's HTML
is shown as text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
)

from bot.app import HomecareApp
from sandbox.media import sample_png
from sandbox.server import SandboxServer
from sandbox.webchat import ChatPerson
from tests.patient.helpers import ADDRESS, NIK_1950_MALE
from tests.web.conftest import shoot

WAIT_MS = 15_000

REGISTRATION = {
    "id": (
        "Persetujuan",
        "Siapa nama lengkap Anda",
        "Terima kasih, data Anda tersimpan ✓",
        "Lokasi: sudah dikirim",
    ),
    "en": (
        "Consent",
        "What is your full name",
        "the details for you are saved ✓",
        "Location: sent",
    ),
}


async def open_chat(page: Any, url: str, name: str, language: str = "id") -> None:
    await page.goto(f"{url}/chat?as={name}&lang={language}")
    # The page marks itself with the feed's position once the first snapshot is drawn.
    await page.wait_for_selector("body[data-seq]", timeout=WAIT_MS)


async def bot_count(page: Any) -> int:
    return int(await page.locator("li.msg.bot").count())


async def next_from_bot(page: Any, before: int) -> Any:
    """The newest bot bubble once there are more than ``before``."""
    await page.wait_for_function(
        "n => document.querySelectorAll('li.msg.bot').length > n", arg=before, timeout=WAIT_MS
    )
    return page.locator("li.msg.bot").last


async def say(page: Any, text: str) -> Any:
    before = await bot_count(page)
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    return await next_from_bot(page, before)


async def click(page: Any, selector: str) -> Any:
    before = await bot_count(page)
    await page.click(selector)
    return await next_from_bot(page, before)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_family_registers_in_the_browser(
    app: HomecareApp, sandbox: SandboxServer, phone: Any, language: str
) -> None:
    consent_word, name_words, saved, located = REGISTRATION[language]
    name = "ani" if language == "id" else "maya"
    await open_chat(phone, sandbox.url, name, language)

    if language == "id":
        # /start from the command menu the bot set with setMyCommands.
        await phone.click("#menu-toggle")
        start = phone.locator("#menu button", has_text="/start")
        await start.wait_for(timeout=WAIT_MS)
        assert "Mulai" in await start.inner_text()
        consent = await click(phone, "#menu button >> text=/start")
    else:
        consent = await say(phone, "/start")
    assert consent_word in await consent.inner_text()
    # The consent's first inline button (agree, for myself) sends a callback query.
    name_question = await click(phone, "li.msg.bot >> nth=-1 >> .inline button >> nth=0")
    assert name_words in await name_question.inner_text()
    phone_question = await say(phone, "Daeng Nai")
    assert "Daeng Nai" in await phone.locator("li.msg.me").last.inner_text()
    # The reply keyboard's request_contact button shares the user's own number.
    assert await phone.locator("#keyboard button.asks-contact").count() == 1
    await click(phone, "#keyboard button.asks-contact")
    assert "+62812" in await phone.locator("li.msg.me").last.inner_text()
    assert phone_question  # answered
    await say(phone, NIK_1950_MALE)
    await say(phone, ADDRESS.format(kelurahan="Karunrung"))
    # The location question: the request_location button opens the pin picker.
    await phone.click("#keyboard button.asks-location")
    await phone.wait_for_selector("#location-panel:not([hidden])")
    await shoot(phone, f"sandbox-chat-location-{language}")
    before = await bot_count(phone)
    if language == "id":
        await phone.click("#points button >> nth=0")  # the preset pin at the puskesmas
        pin = "-5.1601, 119.448"
    else:
        await phone.fill("#lat", "-5.1571")
        await phone.fill("#lon", "119,4459")  # a decimal comma, as an Indonesian phone types
        await phone.click("#share-pin")
        pin = "-5.1571, 119.4459"
    await next_from_bot(phone, before)
    assert "📍 " + pin in await phone.locator("li.msg.me").last.inner_text()
    summary = phone.locator("li.msg.bot", has_text=saved)
    await summary.wait_for(timeout=WAIT_MS)
    assert located in await summary.inner_text()  # the bot took the pin
    await shoot(phone, f"sandbox-chat-family-{language}")


async def test_the_demo_people_are_offered(server: SandboxServer, phone: Any, bot: Bot) -> None:
    server.webchat.people = [
        ChatPerson("ani", "family member (new)"),
        ChatPerson("siti", "nurse: Siti Rahmawati"),
    ]
    await phone.goto(server.chat_url)
    people = phone.locator("#people li")
    await people.first.wait_for(timeout=WAIT_MS)
    assert [t.strip() for t in await people.all_inner_texts()] == [
        "ani — family member (new)",
        "siti — nurse: Siti Rahmawati",
    ]
    await phone.click("#people a >> text=siti")
    await phone.wait_for_selector("body[data-seq]", timeout=WAIT_MS)
    assert await phone.inner_text("#title") == "Siti"
    # A new person typed in the form becomes a sandbox user with that language.
    await phone.goto(server.chat_url)
    await phone.fill("#new-name", "budi_en")
    await phone.select_option("#new-language", "en")
    await phone.click("#new-start")
    await phone.wait_for_selector("body[data-seq]", timeout=WAIT_MS)
    assert server.world.users_by_name["budi_en"].language_code == "en"


async def _updates(bot: Bot, offset: int = 0) -> tuple[list[Any], int]:
    updates = await bot.get_updates(offset=offset, timeout=5)
    return list(updates), (updates[-1].update_id + 1 if updates else offset)


async def test_media_edits_deletions_answers_and_escaping(
    server: SandboxServer, phone: Any, bot: Bot
) -> None:
    await open_chat(phone, server.url, "ani")
    evil = '<img src=x onerror="document.body.dataset.pwned=1"><b>tebal</b>'
    await phone.fill("#text", evil)
    await phone.press("#text", "Enter")
    [update], offset = await _updates(bot)
    assert update.message.text == evil
    mine = phone.locator("li.msg.me").last
    await mine.wait_for(timeout=WAIT_MS)
    assert (await mine.locator(".text").inner_text()) == evil
    assert await mine.locator("img, b").count() == 0
    assert await phone.evaluate("document.body.dataset.pwned") is None

    chat_id = update.message.chat_id
    photo = await bot.send_photo(
        chat_id, sample_png(), caption="<b>Foto</b> luka", parse_mode="HTML"
    )
    await bot.send_document(chat_id, b"<script>x()</script>", filename="catatan.html")
    image = phone.locator(f"li.msg.bot[data-id='{photo.message_id}'] img")
    await image.wait_for(timeout=WAIT_MS)
    assert await image.evaluate("i => i.complete && i.naturalWidth > 0")
    bubble = phone.locator(f"li.msg.bot[data-id='{photo.message_id}']")
    assert await bubble.locator(".text b").inner_text() == "Foto"
    document = phone.locator("li.msg.bot a.document").last
    await document.wait_for(timeout=WAIT_MS)
    assert "catatan.html" in await document.inner_text()
    href = await document.get_attribute("href")
    async with httpx.AsyncClient(base_url=server.url) as http:
        got = await http.get(href)
    # Served as a download, never as a page of the chat's origin.
    assert got.content == b"<script>x()</script>"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment")

    ask = await bot.send_message(
        chat_id,
        "Datang jam <b>09:00</b>?",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Ya", callback_data="ya")]]),
    )
    await phone.locator(f"li.msg.bot[data-id='{ask.message_id}'] .inline button").click()
    [press], offset = await _updates(bot, offset)
    assert press.callback_query.data == "ya"
    await bot.answer_callback_query(press.callback_query.id, text="Tercatat")
    await phone.locator("#toast", has_text="Tercatat").wait_for(timeout=WAIT_MS)
    await bot.edit_message_text(
        "Datang jam <b>10:00</b> ✓", chat_id, ask.message_id, parse_mode="HTML"
    )
    edited = phone.locator(f"li.msg.bot[data-id='{ask.message_id}']")
    await edited.locator(".meta", has_text="edited").wait_for(timeout=WAIT_MS)
    assert "10:00" in await edited.inner_text()
    assert await edited.locator(".inline").count() == 0  # an edit without markup drops it
    await bot.delete_message(chat_id, photo.message_id)
    await bubble.locator("text=the bot deleted this message").wait_for(timeout=WAIT_MS)

    # A plain reply-keyboard button sends its label as the user's message.
    await bot.send_message(chat_id, "Lanjut?", reply_markup=ReplyKeyboardMarkup([["Ya", "Tidak"]]))
    await phone.locator("#keyboard button", has_text="Tidak").click()
    [reply], offset = await _updates(bot, offset)
    assert reply.message.text == "Tidak"
    await phone.locator("li.msg.me", has_text="Tidak").wait_for(timeout=WAIT_MS)
    await shoot(phone, "sandbox-chat-media")


async def test_the_chat_and_its_files_stay_on_loopback(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        page = await http.get("/chat")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (await http.get("/chat/static/..%2Fserver.py")).status_code == 404
        assert (await http.get("/chat/files/nope")).status_code == 404
        assert (await http.get("/chat/api/feed/nobody")).status_code == 404
