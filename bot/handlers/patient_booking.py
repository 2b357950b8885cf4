"""Requesting a visit (flow "p.book").

Steps: patient (when the account manages several) → service → danger (one question per sign;
any "yes" ends at once with the emergency message, a recorded referral and an alert to every
head) → complaint → day → window → confirm. The chosen slot is checked again at confirm time, in
the transaction that takes the capacity (db.services.booking.book_visit).
"""

from __future__ import annotations

from datetime import date, datetime

from bot.handlers import patient_register
from bot.handlers.patient_fields import NeedText
from bot.handlers.patient_flow import CONTINUATIONS, Ctx, Incoming, day_arg, int_arg
from bot.messages import Reply
from bot.render import patient as render
from bot.turn import Turn
from db.services import booking as booking_service
from db.services import consent as consent_service
from db.services import conversation
from db.services.patients import MyPatient, my_patient, my_patients
from homecare.config import DangerSign, ServiceType
from scheduler.booking import BookingDecision, BookingRefusal, TimeWindow, check_booking
from scheduler.identity import InvalidInput, validate_free_text

FLOW = "p.book"
COMPLAINT_MIN = 3


def who_of(c: Ctx, mine: MyPatient) -> str:
    return render.who_plain(c.tr, mine.patient.full_name, mine.label, mine.is_self)


# --- entry -----------------------------------------------------------------------------------


async def begin(turn: Turn, now: datetime, patient_id: int | None = None) -> None:
    """/minta_kunjungan (or "book now"): consent and registration first when missing."""
    account = turn.require_account()
    version = turn.config.privacy.consent_version
    if not await consent_service.has_account_consent(turn.session, account.id, version):
        await patient_register.begin(turn, now, then="book")
        return
    mine = await my_patients(turn.session, account.id, turn.clinic_id)
    if not mine:
        await patient_register.begin(turn, now, then="book")
        return
    chosen = next((m for m in mine if m.patient.id == patient_id), None)
    if chosen is None and len(mine) == 1:
        chosen = mine[0]
    if chosen is None:
        step, data = "patient", {}
    else:
        step, data = "service", {"pid": chosen.patient.id}
    conv = await conversation.begin(turn.session, account.id, FLOW, step, data, now)
    await turn.reply(await prompt(Ctx(turn, conv, now)))


# --- state helpers ---------------------------------------------------------------------------


def _service(c: Ctx) -> ServiceType | None:
    code = c.data.get("svc")
    return c.config.service(str(code)) if code else None


def _windows(c: Ctx) -> tuple[TimeWindow, ...]:
    return booking_service.rules_for(c.config).windows


def _day(c: Ctx) -> date | None:
    value = c.data.get("day")
    return date.fromisoformat(str(value)) if value else None


def _window(c: Ctx) -> TimeWindow | None:
    value = c.data.get("win")
    if not value:
        return None
    try:
        return TimeWindow.parse(str(value))
    except ValueError:
        return None


async def _chosen(c: Ctx) -> MyPatient | None:
    pid = c.data.get("pid")
    if pid is None:
        return None
    return await my_patient(c.session, c.account.id, c.clinic_id, int(pid))


async def _who(c: Ctx, sentence: bool = False) -> str:
    """The chosen patient's name for a button/summary, or (`sentence`) inside a question."""
    mine = await _chosen(c)
    if mine is None:
        return ""
    p = mine.patient
    if sentence:
        return render.who_in_sentence(c.tr, p.full_name, mine.label, mine.is_self)
    return render.who_plain(c.tr, p.full_name, mine.label, mine.is_self)


async def _offer(c: Ctx, service: ServiceType) -> tuple[list[date], list[date]]:
    """(days to offer, days left out because the patient already has a visit then)."""
    days = await booking_service.days_for_service(c.session, c.config, c.clinic_id, service, c.now)
    pid = c.data.get("pid")
    busy = await booking_service.busy_days(c.session, int(pid), days) if pid is not None else []
    return [d for d in days if d not in busy], busy


async def _days(c: Ctx, service: ServiceType) -> list[date]:
    return (await _offer(c, service))[0]


# --- prompts ---------------------------------------------------------------------------------


async def prompt(c: Ctx) -> Reply:
    tr, nonce, step = c.tr, c.nonce, c.conv.step
    if step == "patient":
        mine = await my_patients(c.session, c.account.id, c.clinic_id)
        return render.choose_patient(tr, nonce, [(m.patient.id, who_of(c, m)) for m in mine])
    service = _service(c)
    if step == "service" or service is None:
        who = await _who(c, sentence=True)
        return render.choose_service(tr, nonce, c.config.services, who, await _again(c))
    if step == "danger":
        signs = await _signs_asked(c)
        return render.danger_question(tr, nonce, signs, await _who(c, sentence=True))
    if step == "complaint":
        return render.complaint_prompt(tr, nonce)
    return await _slot_prompt(c, service)


async def _slot_prompt(c: Ctx, service: ServiceType) -> Reply:
    """Day, window, then the summary to confirm; an unanswered earlier one is asked first."""
    tr, nonce, step = c.tr, c.nonce, c.conv.step
    day = _day(c)
    if step == "day" or day is None:
        days, busy = await _offer(c, service)
        if not days and not busy:
            return render.no_days(tr, c.config)
        return render.choose_day(tr, nonce, days, await _earliest(c, days), busy)
    if step == "window":
        windows = await booking_service.windows_for_day(
            c.session, c.config, c.clinic_id, day, c.now
        )
        return render.choose_window(tr, nonce, day, windows, _windows(c))
    window = _window(c)
    assert window is not None
    return render.booking_summary(
        tr,
        nonce,
        who=await _who(c),
        service=service,
        complaint=str(c.data.get("complaint") or ""),
        day=day,
        window=window,
    )


async def _again(c: Ctx) -> ServiceType | None:
    """The service of the patient's last request, offered as "🔁 … lagi"."""
    pid = c.data.get("pid")
    last = await booking_service.last_request(c.session, int(pid)) if pid is not None else None
    return c.config.service(last.service_code) if last is not None else None


async def _earliest(c: Ctx, days: list[date]) -> tuple[date, TimeWindow, int] | None:
    """The soonest bookable day and window, offered as one button above the days; never a day
    the patient already has a visit on (that request would be refused at the end)."""
    for day in days:  # `days` already leaves out the patient's busy days
        windows = await booking_service.windows_for_day(
            c.session, c.config, c.clinic_id, day, c.now
        )
        if windows:
            return day, windows[0], _windows(c).index(windows[0])
    return None


async def goto(c: Ctx, step: str, **changes: object) -> None:
    c.advance(step, **changes)
    await c.say(await prompt(c))


# --- buttons ---------------------------------------------------------------------------------


async def on_button(c: Ctx, action: str, args: list[str]) -> None:
    step = c.conv.step
    if step == "patient" and action == "p":
        await _patient(c, int_arg(args))
    elif step == "patient" and action == "add":
        await c.accepted_press()
        await patient_register.begin(c.turn, c.now, then="book", add=True)
    elif step == "service" and action == "s":
        await _service_chosen(c, int_arg(args))
    elif step == "service" and action == "again":
        await _same_again(c)
    elif step == "danger" and action in ("y", "n"):
        await _danger(c, action == "y")
    elif step == "day" and action == "d":
        await _day_chosen(c, day_arg(args))
    elif step == "day" and action == "f" and len(args) == 2:
        await _earliest_chosen(c, day_arg(args[:1]), int_arg(args, 1))
    elif step == "window" and action == "w":
        await _window_chosen(c, int_arg(args))
    elif step == "confirm" and action == "go":
        await _confirm(c)
    else:
        c.stale()


async def _patient(c: Ctx, patient_id: int) -> None:
    mine = await my_patient(c.session, c.account.id, c.clinic_id, patient_id)
    if mine is None:
        c.not_yours()
        return
    await c.accepted_press()
    await goto(c, "service", pid=mine.patient.id)


async def _service_chosen(c: Ctx, index: int) -> None:
    services = c.config.services
    if index >= len(services):
        c.stale()
        return
    await c.accepted_press()
    await _after_service(c, svc=services[index].code, complaint=None)


async def _same_again(c: Ctx) -> None:
    """The last request's service and complaint again (both shown in the summary to confirm)."""
    pid = c.data.get("pid")
    last = await booking_service.last_request(c.session, int(pid)) if pid is not None else None
    if last is None or c.config.service(last.service_code) is None:
        c.stale()
        return
    await c.accepted_press()
    await _after_service(c, svc=last.service_code, complaint=last.complaint)


async def _after_service(c: Ctx, **changes: object) -> None:
    if c.config.danger_signs:
        await goto(c, "danger", **changes)
    else:
        c.advance("danger", **changes)
        await _after_danger(c)


async def _after_danger(c: Ctx) -> None:
    """Safety first, then the complaint — unless a repeat request brought it along."""
    if c.data.get("complaint"):
        await goto(c, "day")
    else:
        await goto(c, "complaint")


async def _signs_asked(c: Ctx) -> list[DangerSign]:
    """All signs in one question; a person booking for themself is not asked what they could
    not report (e.g. being unconscious)."""
    signs = c.config.danger_signs
    mine = await my_patient(c.session, c.account.id, c.clinic_id, int(c.data["pid"]))
    if mine is not None and mine.is_self:
        return [s for s in signs if s.ask_self]
    return list(signs)


async def _danger(c: Ctx, any_sign: bool) -> None:
    await c.accepted_press()
    if any_sign:
        await _emergency(c, [s.code for s in await _signs_asked(c)])
    else:
        await _after_danger(c)


async def _emergency(c: Ctx, signs: list[str]) -> None:
    """A "yes": the emergency message at once; the referral is recorded and heads alerted."""
    mine = await my_patient(c.session, c.account.id, c.clinic_id, int(c.data["pid"]))
    await c.end()
    await c.say(render.emergency(c.tr, c.config))
    if mine is not None:
        await booking_service.record_emergency(
            c.session,
            config=c.config,
            clinic_id=c.clinic_id,
            account=c.account,
            patient=mine.patient,
            service_code=str(c.data.get("svc") or "") or None,
            signs=signs,
            now=c.now,
            notes=c.notes,
        )


def _refusal_key(decision: BookingDecision) -> tuple[str, dict[str, str]]:
    assert decision.reason is not None
    return decision.reason.locale_key, {"holiday": decision.holiday or ""}


async def _day_chosen(c: Ctx, day: date) -> None:
    service = _service(c)
    if service is None:
        c.stale()
        return
    days, busy = await _offer(c, service)
    if day in busy:
        c.answer("sameday.refused", day=render.day_short(c.tr, day))
        return
    if day not in days:
        # Say why in the person's words: past, holiday, Sunday… else the day is full.
        rules = await booking_service.load_rules(c.session, c.config, c.clinic_id, c.now)
        decision = check_booking(rules, c.now, day, rules.windows[-1])
        if decision.ok:
            decision = BookingDecision(BookingRefusal.NO_CAPACITY)
        key, params = _refusal_key(decision)
        c.answer(key, **params)
        return
    windows = await booking_service.windows_for_day(c.session, c.config, c.clinic_id, day, c.now)
    if not windows:
        c.answer("patient.book.no_windows")
        return
    await c.accepted_press()
    await goto(c, "window", day=day.isoformat())


async def _earliest_chosen(c: Ctx, day: date, index: int) -> None:
    """ "⚡ Paling cepat": the day and the window in one tap, both checked as if chosen apart."""
    service = _service(c)
    if service is None:
        c.stale()
        return
    if day not in await _days(c, service):
        c.answer("booking.refused.too_late")
        return
    await _take_window(c, day, index, remember_day=True)


async def _window_chosen(c: Ctx, index: int) -> None:
    day = _day(c)
    if day is None:
        c.stale()
        return
    await _take_window(c, day, index)


async def _take_window(c: Ctx, day: date, index: int, remember_day: bool = False) -> None:
    """The window of `index` on `day`, if still offered: on to the summary to confirm."""
    all_windows = _windows(c)
    if index >= len(all_windows):
        c.stale()
        return
    window = all_windows[index]
    offered = await booking_service.windows_for_day(c.session, c.config, c.clinic_id, day, c.now)
    if window not in offered:
        c.answer("booking.refused.too_late")
        return
    await c.accepted_press()
    if remember_day:
        await goto(c, "confirm", day=day.isoformat(), win=window.key)
    else:
        await goto(c, "confirm", win=window.key)


async def _confirm(c: Ctx) -> None:
    service, day, window = _service(c), _day(c), _window(c)
    pid = c.data.get("pid")
    if service is None or day is None or window is None or pid is None:
        c.stale()
        return
    mine = await my_patient(c.session, c.account.id, c.clinic_id, int(pid))
    if mine is None:
        c.not_yours()
        return
    outcome = await booking_service.book_visit(
        c.session,
        config=c.config,
        clinic_id=c.clinic_id,
        account_id=c.account.id,
        patient_id=mine.patient.id,
        service=service,
        complaint=str(c.data.get("complaint") or "") or None,
        day=day,
        window=window,
        now=c.now,
    )
    await c.accepted_press()
    await _booked(c, outcome, service)


async def _booked(c: Ctx, outcome: booking_service.BookingOutcome, service: ServiceType) -> None:
    if outcome.visit is not None:
        await c.end()
        await c.say(render.booked(c.tr, outcome.visit, await _who(c), service))
        return
    if outcome.duplicate:
        await c.end()
        await c.say(Reply(c.tr("patient.book.duplicate")))
        return
    assert outcome.decision is not None
    key, params = _refusal_key(outcome.decision)
    # The slot went (another family took the last place, or time moved on): choose again.
    c.advance("day", win=None, day=None)
    await c.say(render.with_hint(c.tr, key, await prompt(c), **params))


# --- typed input -----------------------------------------------------------------------------


async def on_message(c: Ctx, msg: Incoming) -> None:
    if c.conv.step != "complaint":
        hint = "common.media_not_expected" if msg.kind == "media" else "patient.press_button"
        await c.reject(hint, await prompt(c))
        return
    try:
        if msg.kind != "text":
            raise NeedText
        complaint = validate_free_text(
            msg.text, max_len=render.COMPLAINT_MAX, min_len=COMPLAINT_MIN
        )
    except NeedText:
        await c.reject("common.media_not_expected", await prompt(c))
        return
    except InvalidInput as exc:
        await c.reject(exc.key, await prompt(c))
        return
    service = _service(c)
    assert service is not None
    if not any(await _offer(c, service)):
        await c.end()
        await c.say(render.no_days(c.tr, c.config))
        return
    await goto(c, "day", complaint=complaint)


CONTINUATIONS["book"] = begin
