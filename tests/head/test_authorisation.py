"""One guard for every handler: an entry is required, and a walk of every registered handler ×
every role through the sandbox shows refusals are polite and leak nothing; record-level checks
keep heads in their clinic, nurses to their visits, families to their patients."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot import guard
from bot.app import HomecareApp
from bot.handlers import _guard_all, common, register_handlers
from bot.i18n import Translator, t
from bot.messages import to_payload
from bot.render import head as head_render
from bot.turn import CURRENT_TURN
from db.models import Account, AccountRole, Visit
from db.services import access, outbox
from tests.head import factory
from tests.head.conftest import NOW, Person

TODAY = NOW.date()
ROLES = ("guest", "patient", "caregiver", "nurse", "head", "head_elsewhere")


async def _unguarded(update: Update, context: Any) -> None:  # no GUARD entry on purpose
    return None


def test_a_handler_without_a_guard_entry_cannot_be_registered() -> None:
    with pytest.raises(RuntimeError, match=r"has no entry in bot\.guard\.GUARD"):
        _guard_all([CommandHandler("rahasia", _unguarded)])

    class Module:
        HANDLERS = [CommandHandler("rahasia", _unguarded)]

    from bot import handlers

    application = Application.builder().token("1:" + "x" * 30).updater(None).build()
    original = handlers.FEATURE_MODULES
    handlers.FEATURE_MODULES = (*original, Module)
    try:
        with pytest.raises(RuntimeError, match=r"test_authorisation\._unguarded"):
            register_handlers(application)
    finally:
        handlers.FEATURE_MODULES = original


def registered(app: HomecareApp) -> list[BaseHandler[Any, Any, Any]]:
    return [
        h for group in sorted(app.application.handlers) for h in app.application.handlers[group]
    ]


def key(h: BaseHandler[Any, Any, Any]) -> str:
    return str(getattr(h.callback, "__wrapped_key__", ""))


async def test_every_registered_handler_is_guarded_and_every_entry_is_used(
    app: HomecareApp,
) -> None:
    keys = [key(h) for h in registered(app)]
    assert all(keys), "a handler was registered without the guard"
    assert set(keys) <= set(guard.GUARD)
    assert set(guard.GUARD) - set(keys) == set(), "GUARD entries for handlers that do not exist"


# --- the walk --------------------------------------------------------------------------------


@dataclass
class Probe:
    """One representative update: how to send it, and its Bot API shape to find its handler."""

    label: str
    kind: str  # command | callback | text | reply | contact | location | photo
    value: str = ""


def _literal_prefix(pattern: re.Pattern[str] | str) -> str:
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    text = text.removeprefix("^")
    exact = text.endswith("$")
    text = text.removesuffix("$")
    out = ""
    for ch in text:
        if ch in ".^$*+?{}[]\\|()":
            break
        out += ch
    return out if exact else out + "1:1:1"


def probes(app: HomecareApp) -> list[Probe]:
    out: list[Probe] = []
    for h in registered(app):
        if isinstance(h, CommandHandler):
            name = sorted(h.commands)[0]
            out.append(Probe(f"/{name}", "command", f"/{name}"))
        elif isinstance(h, CallbackQueryHandler) and h.pattern is not None:
            data = _literal_prefix(h.pattern)  # type: ignore[arg-type]
            assert re.match(h.pattern, data), f"cannot make callback data for {h.pattern}"  # type: ignore[arg-type]
            out.append(Probe(f"press {data}", "callback", data))
    out.append(Probe("/no_such_command", "command", "/no_such_command"))
    out.append(Probe("press zz:1", "callback", "zz:1"))
    out += [
        Probe("text", "text", "halo"),
        Probe("reply to the invite question", "reply", "Nama Seseorang"),
        Probe("contact", "contact"),
        Probe("location", "location"),
        Probe("photo", "photo"),
    ]
    return out


def update_json(probe: Probe, user_id: int, bot_id: int) -> dict[str, Any]:
    chat = {"id": user_id, "type": "private", "first_name": "X"}
    sender = {"id": user_id, "is_bot": False, "first_name": "X"}
    message: dict[str, Any] = {"message_id": 10, "date": 0, "chat": chat, "from": sender}
    if probe.kind == "command":
        message |= {
            "text": probe.value,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(probe.value)}],
        }
    elif probe.kind == "callback":
        bot_msg = {
            "message_id": 9,
            "date": 0,
            "chat": chat,
            "text": "x",
            "from": {"id": bot_id, "is_bot": True, "first_name": "B"},
        }
        return {
            "update_id": 1,
            "callback_query": {
                "id": "1",
                "from": sender,
                "chat_instance": "1",
                "data": probe.value,
                "message": bot_msg,
            },
        }
    elif probe.kind == "text":
        message["text"] = probe.value
    elif probe.kind == "reply":
        message["text"] = probe.value
        message["reply_to_message"] = {
            "message_id": 9,
            "date": 0,
            "chat": chat,
            "text": t("id", "head.invite_ask_name"),
            "from": {"id": bot_id, "is_bot": True, "first_name": "B"},
        }
    elif probe.kind == "contact":
        message["contact"] = {
            "phone_number": "+6281234567890",
            "first_name": "X",
            "user_id": user_id,
        }
    elif probe.kind == "location":
        message["location"] = {"latitude": -5.15, "longitude": 119.44}
    elif probe.kind == "photo":
        message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    return {"update_id": 1, "message": message}


@dataclass
class _FakeTurn:
    roles: frozenset[str]


def winner(
    app: HomecareApp, data: dict[str, Any], roles: frozenset[str]
) -> BaseHandler[Any, Any, Any] | None:
    """The handler PTB would give this update to (some filters read the turn's roles)."""
    update = Update.de_json(data, app.application.bot)
    token = CURRENT_TURN.set(_FakeTurn(roles))  # type: ignore[arg-type]
    try:
        for h in registered(app):
            check = h.check_update(update)
            if check is not None and check is not False:
                return h
    finally:
        CURRENT_TURN.reset(token)
    return None


async def make_walkers(app: HomecareApp, make_person: Callable[..., Any]) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for role in ROLES:
        if role == "head_elsewhere":
            person = await make_person("head_b", started=False)
            async with app.db.transaction() as s:
                other = await factory.other_clinic(s)
                s.add(AccountRole(account_id=person.account.id, clinic_id=other, role="head"))
            await person.user.send("/start")
            await person.user.wait_message()
            await person.user.mark_read()
        elif role == "guest":
            person = await make_person("tamu")
        else:
            person = await make_person(f"w_{role}", role)
        people[role] = person
    return people


_sentinels = iter(range(1, 10**6))


async def _until_sentinel(person: Person, language: str = "id") -> list[Any]:
    """Everything the bot sent before its answer to a unique unknown command (our sentinel:
    updates are handled in order, and each chat's messages are sent in order)."""
    command = f"/zz{next(_sentinels)}"
    await person.user.send(command)
    marker = t(language, "common.unknown_command", command=command)
    seen: list[Any] = []
    while True:
        message = await person.user.wait_message(timeout=15)
        if message.text == marker:
            return seen
        seen.append(message)


async def _prompt_in_chat(app: HomecareApp, person: Person) -> int:
    """Put the head's "whose invite?" question into this chat (so a reply to it can be sent)."""
    async with app.db.transaction() as s:
        payload = to_payload(person.user.id, head_render.invite_ask_name(Translator("id")))
        await outbox.queue(s, chat_id=person.user.id, method="sendMessage", payload=payload)
    app.relay.wake()
    return (await person.user.wait_message()).message_id


async def test_walk_every_handler_for_every_role(
    app: HomecareApp, make_person: Callable[..., Any]
) -> None:
    people = await make_walkers(app, make_person)
    bot_id = app.application.bot.id
    all_probes = probes(app)
    denied = t("id", "common.not_allowed")
    failure = t("id", "common.error", phone=app.config.clinic.phone)
    exercised: dict[str, set[str]] = {}  # handler key → roles it was reached for
    problems: list[str] = []
    for role, person in people.items():
        async with app.db.read() as s:
            acc = await s.get(Account, person.account.id)
            assert acc is not None
            await s.refresh(acc, ["roles"])
            roles = frozenset(r.role for r in acc.roles if r.clinic_id == app.clinic_id)
        routed = []
        for probe in all_probes:
            h = winner(app, update_json(probe, person.user.id, bot_id), roles)
            if h is not None:
                routed.append((not guard.allowed(roles, key(h)), probe, h))
        # Refusals first: an allowed handler may answer later too (e.g. a plan finishing), and
        # such a late message must not be mistaken for a leak after a refusal.
        routed.sort(key=lambda r: not r[0])
        for _, probe, h in routed:
            k = key(h)
            exercised.setdefault(k, set()).add(role)
            should_refuse = not guard.allowed(roles, k)
            u = person.user
            press = None
            if probe.kind == "command" or probe.kind == "text":
                await u.send(probe.value)
            elif probe.kind == "reply":
                await u.send(probe.value, reply_to=await _prompt_in_chat(app, person))
            elif probe.kind == "callback":
                press = await u.press_forged(probe.value)
            elif probe.kind == "contact":
                await u.share_contact()
            elif probe.kind == "location":
                await u.share_location(-5.15, 119.44)
            else:
                await u.send_photo()
            seen = await _until_sentinel(person)
            texts = [m.text or m.caption or "" for m in seen]
            answer = await u.callback_answer(press, timeout=5) if press else None
            where = f"{role} × {probe.label} → {k}"
            if failure in texts:
                problems.append(f"{where}: the handler failed")
            if should_refuse:
                if press is not None:
                    if texts or answer is None or answer.text != denied:
                        problems.append(f"{where}: not refused politely ({texts}, {answer})")
                elif texts != [denied]:
                    problems.append(f"{where}: expected only the refusal, got {texts}")
            elif denied in texts or (answer is not None and answer.text == denied):
                problems.append(f"{where}: refused though allowed")
    assert problems == [], "\n".join(problems)
    # The fallbacks are safety nets open to everyone: a feature may answer all they would.
    fallbacks = {key(h) for h in common.FALLBACKS}
    missing = {key(h) for h in registered(app)} - set(exercised) - fallbacks
    assert missing == set(), f"handlers no probe reached: {missing}"
    # Every head-only handler was refused to every other role (reached for all of them).
    for k, roles_reached in exercised.items():
        if guard.GUARD[k] == guard.HEAD:
            assert {
                "guest",
                "patient",
                "caregiver",
                "nurse",
                "head_elsewhere",
                "head",
            } <= roles_reached, k


# --- record level ------------------------------------------------------------------------------


async def test_record_level_access(app: HomecareApp, make_person: Callable[..., Any]) -> None:
    """A nurse sees only her visits, a head only their clinic's, a caregiver only linked
    patients."""
    siti: Person = await make_person("siti", "nurse")
    andi: Person = await make_person("andi", "nurse")
    dewi: Person = await make_person("dewi", "caregiver")
    head: Person = await make_person("kepala", "head")
    async with app.db.transaction() as s:
        cid = app.clinic_id
        ns = await factory.nurse(s, cid, "Siti", owner=siti.account)
        na = await factory.nurse(s, cid, "Andi", owner=andi.account)
        mother = await factory.patient(s, cid, "Ibu Dewi", family=dewi.account)
        stranger = await factory.patient(s, cid, "Orang Lain")
        v_siti = await factory.visit(s, cid, mother, TODAY, "scheduled", who=ns)
        v_andi = await factory.visit(s, cid, stranger, TODAY, "scheduled", who=na)
        other = await factory.other_clinic(s)
        far = await factory.patient(s, other, "Jauh")
        v_other = await factory.visit(s, other, far, TODAY, "scheduled")
        ids = (v_siti.id, v_andi.id, v_other.id, mother.id, stranger.id)
    vs, va, vo, pm, pst = ids
    async with app.db.read() as s:
        sa, aa, da, ha = [await s.get(Account, p.account.id) for p in (siti, andi, dewi, head)]
        assert sa and aa and da and ha
        for a in (sa, aa, da, ha):
            await s.refresh(a, ["roles"])
        nurse, headr = frozenset({"nurse"}), frozenset({"head"})
        # nurse: own visit yes, another nurse's no, other clinic no
        assert (await access.staff_visit(s, sa, nurse, app.clinic_id, vs)) is not None
        assert (await access.staff_visit(s, sa, nurse, app.clinic_id, va)) is None
        assert (await access.nurse_visit(s, aa, app.clinic_id, vs)) is None
        # head: own clinic's any visit; another clinic's none (even asking with that clinic's id
        # through this clinic's bot is impossible: the turn's clinic is fixed)
        assert (await access.staff_visit(s, ha, headr, app.clinic_id, va)) is not None
        assert (await access.head_visit(s, app.clinic_id, vo)) is None
        # caregiver: linked patient and its visit yes; a stranger no
        assert (await access.linked_patient(s, da, app.clinic_id, pm)) is not None
        assert (await access.linked_patient(s, da, app.clinic_id, pst)) is None
        assert (await access.linked_visit(s, da, app.clinic_id, vs)) is not None
        assert (await access.linked_visit(s, da, app.clinic_id, va)) is None
        # a caregiver or patient is never staff
        assert (
            await access.staff_visit(s, da, frozenset({"caregiver"}), app.clinic_id, vs)
        ) is None
        v = await s.get(Visit, vs)
        assert v is not None

    # Through the bot: a head forging another clinic's visit detail sees nothing.
    state = f"{TODAY:%Y%m%d}{TODAY:%Y%m%d}...."
    answer = await head.user.callback_answer(await head.user.press_forged(f"hd:{vo}:{state}:0"))
    assert answer is not None and answer.text == t("id", "head.visit_not_found")
    shown = await head.user.last_message()
    assert shown is not None
    answer = await head.user.callback_answer(await head.user.press_forged(f"hd:{va}:{state}:0"))
    assert answer is not None and answer.text is None  # own clinic: shown, in place
    detail = await head.user.wait_edit(shown)
    assert detail.text is not None and detail.text.startswith("<b>Kunjungan ")

    # A nurse pressing another nurse's stop (the nurse module's button) is refused.
    from bot.render import nurse as nurse_render

    answer = await andi.user.callback_answer(
        await andi.user.press_forged(f"{nurse_render.OPEN_STOP}:{vs}")
    )
    assert answer is not None and answer.text == t("id", "nurse.not_your_visit")
    await andi.user.expect_no_message(0.3)
    async with app.db.read() as s:
        assert await s.scalar(select(Visit.nurse_id).where(Visit.id == vs)) == ns.id
