"""The clinic head's daily tools: today's board, the visit log (filters, detail, reassign), the
audit log, and staff invites (creating them, and using one through /start inv_<code>).

Every callback's data is decoded and checked here; records are loaded through services that
confine a head to their own clinic (db.services.access), so a forged id finds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import select
from telegram import CallbackQuery, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import BadCallback, decode, decode_int
from bot.handlers.buttons import head_visit, one_of, press, record_press
from bot.i18n import LANGUAGES, Translator
from bot.menus import queue_chat_menu
from bot.messages import Reply
from bot.render import head as render
from bot.render.common import plain
from bot.turn import HomecareContext, Turn
from db.models import Account, Invite, Nurse, Visit
from db.services import access, audit, board, invites, reassign_notes, staff, visit_log
from db.services.patients import Notes
from db.types import utcnow

log = logging.getLogger(__name__)


# --- helpers shared by the head's handler modules ----------------------------------------------


def head_role(turn: Turn) -> str:
    """The role an audit entry names: "head", or "admin" for an admin without the head role."""
    return "head" if "head" in turn.roles else "admin"


def today(turn: Turn, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(turn.config.clinic.tz).date()


def callback(update: Update) -> CallbackQuery:
    query = update.callback_query
    assert query is not None
    return query


async def edit(turn: Turn, query: CallbackQuery, reply: Reply) -> None:
    """Show `reply` in place of the message whose button was pressed (or as a new message when
    that message is no longer accessible)."""
    message = query.message
    if message is None or not isinstance(message, Message):
        await turn.reply(reply)
        return
    chat_id = message.chat.id
    await turn.call(
        "editMessageText",
        render.edit_payload(chat_id, message.message_id, reply),
        chat_id=chat_id,
    )


def stale(turn: Turn, query: CallbackQuery) -> None:
    turn.answer(query.id, turn.tr("common.stale_button"))


async def notify(
    turn: Turn, account: Account | None, reply_for: Any, *, kind: str = "head_notice"
) -> None:
    """Queue a message to another person in their own language (`reply_for(tr) -> Reply`)."""
    if account is None or account.deleted_at is not None:
        return
    reply: Reply = reply_for(Translator(account.language))
    await turn.send(account.chat_id, reply, kind=kind, account_id=account.id)


async def nurse_names(turn: Turn) -> dict[int, str]:
    rows = await turn.session.execute(
        select(Nurse.id, Nurse.name).where(Nurse.clinic_id == turn.clinic_id)
    )
    return {k: v for k, v in rows}


# --- today's board -----------------------------------------------------------------------------


async def _board_reply(turn: Turn) -> Reply:
    b = await board.load(turn.session, turn.clinic_id, utcnow(), turn.config.clinic.tz)
    return render.board(turn.tr, turn.config, b)


async def board_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    await turn.reply(await _board_reply(turn))


async def board_refresh(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hb", 1, lambda a: one_of(a[0], ("r",)))
    if pressed is None:
        return
    await edit(turn, pressed.query, await _board_reply(turn))
    turn.answer(pressed.query.id, turn.tr("head.refreshed"))


# --- visit log ---------------------------------------------------------------------------------


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def preset_range(preset: str, day: date) -> tuple[date, date] | None:
    """The dates a preset button names, counted from `day` (clinic-local today)."""
    if preset == "t":
        return day, day
    if preset == "y":
        return day - timedelta(days=1), day - timedelta(days=1)
    if preset == "7":
        return day - timedelta(days=6), day
    if preset == "30":
        return day - timedelta(days=29), day
    if preset == "m":
        return day.replace(day=1), day
    if preset == "p":
        end = day.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "w":  # this week so far
        return day - timedelta(days=day.weekday()), day
    if preset == "lw":  # last week, Monday to Sunday
        start = day - timedelta(days=day.weekday() + 7)
        return start, start + timedelta(days=6)
    return None


def parse_range(args: list[str], day: date) -> tuple[date, date] | None:
    """Command arguments "YYYY-MM-DD [YYYY-MM-DD]" → (start, end); None when malformed."""
    if not args:
        return preset_range("7", day)
    start = _parse_day(args[0])
    end = _parse_day(args[1]) if len(args) > 1 else start
    if start is None or end is None or end < start or (end - start).days > 366:
        return None
    return start, end


async def _log_reply(turn: Turn, state: render.LogState, page: int) -> Reply:
    result = await visit_log.search(
        turn.session, turn.clinic_id, state.to_filter(turn.config), page
    )
    return render.log_list(turn.tr, turn.config, state, result, await nurse_names(turn))


async def log_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    span = parse_range(list(context.args or []), today(turn))
    if span is None:
        await turn.reply(plain(turn.tr, "head.log_bad_dates"))
        return
    await turn.reply(await _log_reply(turn, render.LogState(*span), 0))


def _state(turn: Turn, text: str) -> render.LogState:
    state = render.LogState.unpack(text, turn.config)
    if state is None:
        raise BadCallback(text)
    return state


def _packed(turn: Turn, text: str) -> str:
    """A packed log state, checked, kept packed for the back button."""
    _state(turn, text)
    return text


MISSING = "head.visit_not_found"


async def log_page(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hl", 2, lambda a: (_state(turn, a[0]), decode_int(a[1])))
    if pressed is None:
        return
    query, (state, number) = pressed.query, pressed.args
    await edit(turn, query, await _log_reply(turn, state, number))
    turn.answer(query.id)


async def log_filter_menu(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(
        turn,
        update,
        "hf",
        2,
        lambda a: (one_of(a[0], ("d", "n", "s", "k", "v")), _state(turn, a[1])),
    )
    if pressed is None:
        return
    query, (dim, state) = pressed.query, pressed.args
    names = sorted((await nurse_names(turn)).items(), key=lambda kv: kv[1])
    await edit(turn, query, render.filter_menu(turn.tr, turn.config, dim, state, names))
    turn.answer(query.id)


async def _with_filter(
    turn: Turn, state: render.LogState, dim: str, value: str
) -> render.LogState | None:
    """`state` with one filter set (value "" = any); None when the value is not valid."""
    if dim == "x":
        return render.LogState(state.start, state.end)
    if dim == "d":
        span = preset_range(value, today(turn))
        return render.LogState(span[0], span[1], *_rest(state)) if span else None
    if value == "":
        number = None
    elif value.isdigit() and len(value) <= 9:
        number = int(value)
    else:
        return None
    if dim == "n":
        return await _with_nurse(turn, state, number)
    return _with_listed(turn, state, dim, number)


async def _with_nurse(
    turn: Turn, state: render.LogState, nurse_id: int | None
) -> render.LogState | None:
    """Only a nurse of the head's clinic (a forged id finds nothing)."""
    if nurse_id is not None:
        nurse = await access.head_nurse(turn.session, turn.clinic_id, nurse_id)
        if nurse is None:
            return None
    return _replace(state, nurse_id=nurse_id)


def _with_listed(
    turn: Turn, state: render.LogState, dim: str, number: int | None
) -> render.LogState | None:
    """Status, kelurahan or service: an index into the list the menu showed."""
    limits = {
        "s": len(render.STATUSES),
        "k": len(turn.config.clinic.service_area),
        "v": len(turn.config.services),
    }
    if dim not in limits or (number is not None and number >= limits[dim]):
        return None
    field = {"s": "status", "k": "kelurahan", "v": "service"}[dim]
    return _replace(state, **{field: number})


def _rest(state: render.LogState) -> tuple[int | None, ...]:
    return (state.nurse_id, state.status, state.kelurahan, state.service)


def _replace(state: render.LogState, **changes: Any) -> render.LogState:
    return replace(state, **changes)


async def log_filter_set(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = callback(update)
    try:
        dim, value, packed = decode(query.data, "hs", 3)
        state = await _with_filter(turn, _state(turn, packed), dim, value)
        if state is None:
            raise BadCallback(query.data)
    except BadCallback:
        stale(turn, query)
        return
    await edit(turn, query, await _log_reply(turn, state, 0))
    turn.answer(query.id)


async def _detail_reply(turn: Turn, visit_id: int, back: tuple[str, int]) -> Reply | None:
    now = utcnow()
    detail = await visit_log.detail(
        turn.session,
        turn.clinic_id,
        visit_id,
        turn.config.clinic.tz,
        viewer=turn.require_account(),
        viewer_role=head_role(turn),
        now=now,
    )
    if detail is None:
        return None
    can = staff.can_reassign(detail.status, detail.day, today(turn, now))
    return render.visit_detail(turn.tr, turn.config, detail, back, can)


async def log_detail(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(
        turn, update, "hd", 3, lambda a: (decode_int(a[0]), _packed(turn, a[1]), decode_int(a[2]))
    )
    if pressed is None:
        return
    query, (visit_id, packed, number) = pressed.query, pressed.args
    reply = await _detail_reply(turn, visit_id, (packed, number))
    if reply is None:
        turn.answer(query.id, turn.tr("head.visit_not_found"), alert=True)
        return
    await edit(turn, query, reply)
    turn.answer(query.id)


def _needed_skills(turn: Turn, service_type: str) -> tuple[str, ...]:
    service = turn.config.service(service_type)
    return service.skills if service else ()


async def reassign_menu(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = await record_press(
        turn,
        update,
        "hr",
        2,
        lambda a: (decode_int(a[0]), _packed(turn, a[1])),
        head_visit,
        MISSING,
    )
    if pressed is None:
        return
    query, visit, packed = pressed.query, pressed.record, pressed.args
    if not staff.can_reassign(visit.status, visit.day, today(turn)):
        turn.answer(query.id, turn.tr("head.staff_error.not_reassignable"), alert=True)
        return
    choices = await staff.candidates(
        turn.session, turn.clinic_id, visit, _needed_skills(turn, visit.service_type)
    )
    nurses = [(n.id, n.name, ok) for n, ok in choices]
    await edit(turn, query, render.reassign_menu(turn.tr, visit.code, visit.id, packed, nurses))
    turn.answer(query.id)


async def reassign_do(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = await record_press(
        turn,
        update,
        "hR",
        3,
        lambda a: (decode_int(a[0]), (decode_int(a[1]), _packed(turn, a[2]))),
        head_visit,
        MISSING,
    )
    if pressed is None:
        return
    query, visit, (nurse_id, packed) = pressed.query, pressed.record, pressed.args
    done = await _reassign(turn, query, visit, nurse_id)
    if done is None:
        return
    reply = await _detail_reply(turn, done.visit.id, (packed, 0))
    if reply is not None:
        await edit(turn, query, reply)
    key = "head.reassigned_replanned" if done.replanned else "head.reassigned"
    turn.answer(query.id, turn.tr(key, nurse=done.new_nurse.name[:40]))


async def _reassign(
    turn: Turn, query: CallbackQuery, visit: Visit, nurse_id: int
) -> staff.Reassigned | None:
    """The service decides whether the move is allowed; a refusal is the button's alert."""
    now = utcnow()
    try:
        return await reassign_notes.reassign(
            turn.session,
            turn.clinic_id,
            visit.id,
            nurse_id,
            _needed_skills(turn, visit.service_type),
            turn.require_account(),
            now,
            today(turn, now),
            notes=Notes(turn.update_id, turn.outbox_ids),
        )
    except staff.StaffError as exc:
        turn.answer(query.id, turn.tr(f"head.staff_error.{exc.code}"), alert=True)
        return None


# --- audit -------------------------------------------------------------------------------------


async def audit_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    entries = await audit.recent(turn.session, turn.clinic_id, limit=20)
    result = await audit.verify(turn.session)
    if result.ok:
        verified = turn.tr("head.audit_ok", count=result.entries, head=result.head[:16])
    else:
        verified = turn.tr("head.audit_broken", id=result.bad_id or 0)
    ids = {e.actor_account_id for e in entries if e.actor_account_id}
    names: dict[int, str] = {}
    if ids:
        rows = await turn.session.execute(
            select(Account.id, Account.first_name).where(Account.id.in_(ids))
        )
        names = {k: v for k, v in rows}
    await turn.reply(render.audit_entries(turn.tr, entries, verified, turn.config.clinic.tz, names))


# --- invites -----------------------------------------------------------------------------------


async def _create_invite(turn: Turn, context: HomecareContext, raw_name: str) -> None:
    name = invites.clean_name(raw_name)
    if name is None:
        await turn.reply(plain(turn.tr, "head.invite_bad_name"))
        return
    now = utcnow()
    account = turn.require_account()
    new = await invites.create(
        turn.session,
        clinic_id=turn.clinic_id,
        role="nurse",
        name=name,
        now=now,
        created_by_account_id=account.id,
        actor_role=head_role(turn),
    )
    link = invites.deep_link(context.bot.username, new.code)
    await turn.reply(
        render.invite_created(
            turn.tr, new.name, new.role, link, new.expires_at.astimezone(turn.config.clinic.tz)
        )
    )


async def invite_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    args = list(context.args or [])
    if not args:
        await turn.reply(render.invite_ask_name(turn.tr))
        return
    await _create_invite(turn, context, " ".join(args))


class _InvitePromptReply(filters.MessageFilter):
    """A text message answering our "whose invite?" question (sent with ForceReply)."""

    prompts = frozenset(Translator(lang)("head.invite_ask_name") for lang in LANGUAGES)

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return (
            replied is not None
            and replied.from_user is not None
            and replied.from_user.is_bot
            and (replied.text or "") in self.prompts
        )


async def invite_name_reply(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    message = update.effective_message
    assert message is not None
    await _create_invite(turn, context, message.text or "")


async def accept_invite(update: Update, context: HomecareContext, payload: str) -> None:
    """/start inv_<code>: grant the invite's role (called from bot.handlers.start)."""
    turn = context.turn
    account = turn.require_account()
    code = invites.code_from_payload(payload) or ""
    now = utcnow()
    turn.switch_clinic(await invites.clinic_of(turn.session, code) or turn.clinic_id)
    try:
        accepted = await invites.accept(
            turn.session,
            clinic_id=turn.clinic_id,
            code=code,
            account=account,
            now=now,
            shift=turn.config.clinic.working_hours,
        )
    except invites.InviteRefused as exc:
        await turn.reply(plain(turn.tr, f"head.{exc.reason.value}", phone=turn.config.clinic.phone))
        return
    await turn.reply(
        render.invite_welcome(turn.tr, accepted.name, accepted.role, turn.config.clinic.name)
    )
    await queue_chat_menu(turn)
    await _tell_inviter(turn, code, accepted)


async def _tell_inviter(turn: Turn, code: str, accepted: invites.Accepted) -> None:
    creator_id = await turn.session.scalar(
        select(Invite.created_by_account_id).where(Invite.code_hash == invites.code_hash(code))
    )
    if creator_id is None:
        return
    creator = await turn.session.get(Account, creator_id)

    def note(tr: Translator) -> Reply:
        return Reply(
            tr(
                "head.invite_joined",
                name=escape(accepted.name),
                role=tr(f"common.roles.{accepted.role}"),
            )
        )

    await notify(turn, creator, note)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler(["hari_ini", "today"], board_command),
    CallbackQueryHandler(board_refresh, pattern=r"^hb:"),
    CommandHandler(["kunjungan", "visits"], log_command),
    CallbackQueryHandler(log_page, pattern=r"^hl:"),
    CallbackQueryHandler(log_filter_menu, pattern=r"^hf:"),
    CallbackQueryHandler(log_filter_set, pattern=r"^hs:"),
    CallbackQueryHandler(log_detail, pattern=r"^hd:"),
    CallbackQueryHandler(reassign_menu, pattern=r"^hr:"),
    CallbackQueryHandler(reassign_do, pattern=r"^hR:"),
    CommandHandler("audit", audit_command),
    CommandHandler(["undang_perawat", "invite_nurse"], invite_command),
    MessageHandler(
        filters.REPLY & filters.TEXT & ~filters.COMMAND & _InvitePromptReply(), invite_name_reply
    ),
]
