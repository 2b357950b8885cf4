"""/kunjungan_saya (flow "p.visits"): upcoming and past visits; cancel with a reason; reschedule.

Steps: list → reason (cancel) | rday → rwin → rconfirm (reschedule) | rest (cancel the rest of a
series). Visit ids in buttons are checked against the account's own patients every time (a forged
id gets "not your button").
"""

from __future__ import annotations

from datetime import date, datetime

from bot.handlers.patient_fields import NeedText
from bot.handlers.patient_flow import Ctx, Incoming, day_arg, int_arg
from bot.i18n import Translator
from bot.messages import Reply
from bot.render import patient as render
from bot.render.patient.my_visits import cancel_rest_ask, cancelled_rest
from bot.turn import Turn
from db.models import Nurse
from db.services import booking as booking_service
from db.services import conversation, series_cancel
from db.services import my_visits as visits_service
from scheduler.booking import TimeWindow
from scheduler.identity import InvalidInput, validate_free_text
from scheduler.visits import is_open

FLOW = "p.visits"
REASON_MIN = 3


async def begin(turn: Turn, now: datetime) -> None:
    account = turn.require_account()
    conv = await conversation.begin(turn.session, account.id, FLOW, "list", {}, now)
    c = Ctx(turn, conv, now)
    reply = await prompt(c)
    if not reply.buttons:
        # Nothing to press: no conversation to keep.
        await c.end()
    await c.say(reply)


async def begin_reschedule(turn: Turn, now: datetime, visit_id: int) -> str | None:
    """From a "choose another day" button: straight to the day question for that visit.
    Returns the locale key to answer the press with when it cannot start."""
    account = turn.require_account()
    item = await visits_service.visit_item(
        turn.session, turn.config, account.id, turn.clinic_id, visit_id, now
    )
    if item is None:
        return "common.not_your_button"
    if not item.can_reschedule:
        return (
            "patient.visits.closed" if not is_open(item.visit.status) else "patient.visits.too_late"
        )
    conv = await conversation.begin(turn.session, account.id, FLOW, "rday", {"vid": visit_id}, now)
    c = Ctx(turn, conv, now)
    if not await _days(c, item):
        await c.end()
        await c.say(Reply(c.tr("patient.visits.no_days")))
        return None
    await c.say(await prompt(c))
    return None


async def _nurse_name(c: Ctx, nurse_id: int | None) -> str | None:
    if nurse_id is None:
        return None
    nurse = await c.session.get(Nurse, nurse_id)
    return nurse.name if nurse is not None else None


def _who(c: Ctx, item: visits_service.VisitItem) -> str:
    m = item.patient
    return render.who_plain(c.tr, m.patient.full_name, m.label, m.is_self)


async def _item(c: Ctx) -> visits_service.VisitItem | None:
    vid = c.data.get("vid")
    if vid is None:
        return None
    return await visits_service.visit_item(
        c.session, c.config, c.account.id, c.clinic_id, int(vid), c.now
    )


def _windows(c: Ctx) -> tuple[TimeWindow, ...]:
    return booking_service.rules_for(c.config).windows


async def _offer(c: Ctx, item: visits_service.VisitItem) -> tuple[list[date], list[date]]:
    """(days to move to, days left out because the patient has another visit then)."""
    service = c.config.service(item.visit.service_type)
    if service is None:
        return [], []
    days = await booking_service.days_for_service(c.session, c.config, c.clinic_id, service, c.now)
    busy = await booking_service.busy_days(
        c.session, item.visit.patient_id, days, except_visit=item.visit.id
    )
    return [d for d in days if d not in busy], busy


async def _days(c: Ctx, item: visits_service.VisitItem) -> list[date]:
    return (await _offer(c, item))[0]


async def prompt(c: Ctx) -> Reply:
    tr, nonce, step = c.tr, c.nonce, c.conv.step
    if step == "list":
        return await _list_prompt(c)
    item = await _item(c)
    if item is None:
        return Reply(tr("patient.visits.closed"))
    if step == "reason":
        return render.cancel_ask(tr, nonce, item.visit)
    if step == "rest":
        return await _rest_prompt(c)
    if step == "rday":
        days, busy = await _offer(c, item)
        if days or busy:
            return render.move_day(tr, nonce, item.visit, days, busy)
        return render.no_days(tr, c.config)
    day = date.fromisoformat(str(c.data["day"]))
    if step == "rwin":
        windows = await booking_service.windows_for_day(
            c.session, c.config, c.clinic_id, day, c.now
        )
        return render.choose_window(tr, nonce, day, windows, _windows(c))
    window = TimeWindow.parse(str(c.data["win"]))
    return render.move_summary(tr, nonce, item.visit, day, window)


async def _list_prompt(c: Ctx) -> Reply:
    mine = await visits_service.list_visits(c.session, c.config, c.account.id, c.clinic_id, c.now)
    upcoming = [
        (
            i.visit,
            _who(c, i),
            i.can_cancel,
            i.can_reschedule,
            await _nurse_name(c, i.visit.nurse_id),
        )
        for i in mine.upcoming
    ]
    past = [(i.visit, _who(c, i), await _nurse_name(c, i.visit.nurse_id)) for i in mine.past]
    return render.my_visits(
        c.tr, c.nonce, c.config, upcoming, past, rest_of_series=_rest_buttons(mine.upcoming)
    )


def _rest_buttons(upcoming: list[visits_service.VisitItem]) -> set[int]:
    """The first cancellable visit of each series with two or more cancellable ones left."""
    by_series: dict[int, list[int]] = {}
    for i in upcoming:
        if i.visit.series_id is not None and i.can_cancel:
            by_series.setdefault(i.visit.series_id, []).append(i.visit.id)
    return {ids[0] for ids in by_series.values() if len(ids) >= 2}


async def goto(c: Ctx, step: str, **changes: object) -> None:
    c.advance(step, **changes)
    await c.say(await prompt(c))


async def on_button(c: Ctx, action: str, args: list[str]) -> None:
    step = c.conv.step
    if step == "list" and action in ("x", "r"):
        await _pick(c, action, int_arg(args))
    elif step == "reason" and action == "rs":
        index = int_arg(args)
        if index >= len(render.CANCEL_REASONS):
            c.stale()
            return
        # Stored in the clinic's language: heads read the reason.
        reason = Translator("id")(f"patient.visits.reason.{render.CANCEL_REASONS[index]}")
        await _cancel(c, reason)
    elif step == "rday" and action == "d":
        await _move_day(c, day_arg(args))
    elif step == "rwin" and action == "w":
        await _move_window(c, int_arg(args))
    elif step == "rconfirm" and action == "go":
        await _move(c)
    elif step == "list" and action == "xs":
        await _pick_rest(c, int_arg(args))
    elif step == "rest" and action == "ys":
        await _cancel_rest(c)
    else:
        c.stale()


async def _pick(c: Ctx, action: str, visit_id: int) -> None:
    item = await visits_service.visit_item(
        c.session, c.config, c.account.id, c.clinic_id, visit_id, c.now
    )
    if item is None:
        c.not_yours()
        return
    allowed = item.can_cancel if action == "x" else item.can_reschedule
    if not allowed:
        c.answer("patient.visits.too_late", phone=c.config.clinic.phone)
        return
    if action == "r" and not await _days(c, item):
        c.answer("patient.visits.no_days")
        return
    await c.accepted_press()
    await goto(c, "reason" if action == "x" else "rday", vid=visit_id)


async def _cancel(c: Ctx, reason: str) -> None:
    item = await _item(c)
    if item is None:
        c.stale()
        return
    result = await visits_service.cancel_visit(
        c.session,
        config=c.config,
        account=c.account,
        item=item,
        reason=reason,
        now=c.now,
        notes=c.notes,
    )
    await c.accepted_press()
    await c.end()
    if result.ok:
        await c.say(render.cancelled(c.tr, item.visit))
    else:
        await c.say(Reply(c.tr(str(result.refusal), **(result.params or {}))))


async def _move_day(c: Ctx, day: date) -> None:
    item = await _item(c)
    if item is None:
        c.stale()
        return
    days, busy = await _offer(c, item)
    if day in busy:
        c.answer("sameday.refused", day=render.day_short(c.tr, day))
        return
    if day not in days:
        c.answer("booking.refused.no_capacity")
        return
    windows = await booking_service.windows_for_day(c.session, c.config, c.clinic_id, day, c.now)
    if not windows:
        c.answer("patient.book.no_windows")
        return
    await c.accepted_press()
    await goto(c, "rwin", day=day.isoformat())


async def _move_window(c: Ctx, index: int) -> None:
    all_windows = _windows(c)
    if index >= len(all_windows) or "day" not in c.data:
        c.stale()
        return
    day = date.fromisoformat(str(c.data["day"]))
    window = all_windows[index]
    offered = await booking_service.windows_for_day(c.session, c.config, c.clinic_id, day, c.now)
    if window not in offered:
        c.answer("booking.refused.too_late")
        return
    item = await _item(c)
    if item is not None and (day, window) == (item.visit.day, item.window):
        c.answer("patient.visits.same_slot")
        return
    await c.accepted_press()
    await goto(c, "rconfirm", win=window.key)


async def _move(c: Ctx) -> None:
    item = await _item(c)
    if item is None or "day" not in c.data or "win" not in c.data:
        c.stale()
        return
    day = date.fromisoformat(str(c.data["day"]))
    window = TimeWindow.parse(str(c.data["win"]))
    result = await visits_service.reschedule_visit(
        c.session,
        config=c.config,
        account=c.account,
        item=item,
        day=day,
        window=window,
        now=c.now,
        notes=c.notes,
    )
    await c.accepted_press()
    if result.ok:
        await c.end()
        await c.say(render.moved(c.tr, item.visit))
        return
    await _move_refused(c, result)


async def _move_refused(c: Ctx, result: visits_service.ChangeResult) -> None:
    params = result.params or {}
    if result.refusal and result.refusal.startswith("booking.refused."):
        # The day filled up meanwhile: pick again.
        c.advance("rday", day=None, win=None)
        await c.say(render.with_hint(c.tr, result.refusal, await prompt(c), **params))
        return
    await c.end()
    await c.say(Reply(c.tr(str(result.refusal), **params)))


async def on_message(c: Ctx, msg: Incoming) -> None:
    if c.conv.step != "reason":
        hint = "common.media_not_expected" if msg.kind == "media" else "patient.press_button"
        await c.reject(hint, await prompt(c))
        return
    try:
        if msg.kind != "text":
            raise NeedText
        reason = validate_free_text(msg.text, max_len=render.REASON_MAX, min_len=REASON_MIN)
    except NeedText:
        await c.reject("common.media_not_expected", await prompt(c))
        return
    except InvalidInput as exc:
        await c.reject(exc.key, await prompt(c))
        return
    await _cancel(c, reason)


# --- the rest of a series ------------------------------------------------------------------------


async def _rest(c: Ctx, visit_id: int) -> series_cancel.RestOfSeries | None:
    return await series_cancel.rest_of_series(
        c.session, c.config, c.account.id, c.clinic_id, visit_id, c.now
    )


async def _rest_prompt(c: Ctx) -> Reply:
    rest = await _rest(c, int(c.data["vid"]))
    if rest is None or not rest.cancellable:
        return Reply(c.tr("patient.visits.closed"))
    day = rest.cancellable[0].visit.day
    return cancel_rest_ask(c.tr, c.nonce, day, len(rest.cancellable), rest.late)


async def _pick_rest(c: Ctx, visit_id: int) -> None:
    rest = await _rest(c, visit_id)
    if rest is None:
        c.not_yours()
        return
    if not rest.cancellable:
        c.answer("patient.visits.too_late", phone=c.config.clinic.phone)
        return
    await c.accepted_press()
    await goto(c, "rest", vid=visit_id)


async def _cancel_rest(c: Ctx) -> None:
    rest = await _rest(c, int(c.data.get("vid", 0)))
    if rest is None or not rest.cancellable:
        c.stale()
        return
    done = await series_cancel.cancel_rest(
        c.session,
        config=c.config,
        account=c.account,
        rest=rest,
        # Stored in the clinic's language: heads read the reason.
        reason=Translator("id")("series.reason_cancel_rest"),
        now=c.now,
        notes=c.notes,
    )
    await c.accepted_press()
    await c.end()
    await c.say(cancelled_rest(c.tr, done.cancelled, done.late, c.config.clinic.phone))
