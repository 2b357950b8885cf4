"""After the visit: the rating buttons (``pf:<visit>:<1-5>``, sent by
`db.services.feedback.queue_feedback_request`) and the optional comment (flow "p.fb")."""

from __future__ import annotations

from datetime import datetime

from bot.handlers.patient_fields import NeedText
from bot.handlers.patient_flow import Ctx, Incoming
from bot.messages import Reply
from bot.render import patient as render
from bot.turn import Turn
from db.services import conversation
from db.services import feedback as feedback_service
from db.services.feedback import RatingOutcome
from scheduler.identity import InvalidInput, validate_free_text

FLOW = "p.fb"


async def rate(turn: Turn, now: datetime, visit_id: int, rating: int) -> str | None:
    """Record a rating; returns the locale key to answer the press with (None: accepted)."""
    account = turn.require_account()
    outcome = await feedback_service.record_rating(
        turn.session,
        account_id=account.id,
        clinic_id=turn.clinic_id,
        visit_id=visit_id,
        rating=rating,
        now=now,
    )
    refusal = _REFUSALS.get(outcome)
    if refusal is None:
        await _thank(turn, now, visit_id, rating)
    return refusal


_REFUSALS = {
    RatingOutcome.NOT_YOURS: "common.not_your_button",
    RatingOutcome.ALREADY: "patient.feedback.already",
    RatingOutcome.NOT_DONE: "patient.feedback.not_done",
}


async def _thank(turn: Turn, now: datetime, visit_id: int, rating: int) -> None:
    account = turn.require_account()
    current = await conversation.load(turn.session, account.id)
    idle = current is not None and conversation.is_idle(
        current, now, turn.config.schedule.conversation_idle_min
    )
    if current is None or idle:
        # Ask for a comment, unless that would throw away a booking the person is making.
        conv = await conversation.begin(
            turn.session, account.id, FLOW, "comment", {"vid": visit_id}, now
        )
        await turn.reply(render.feedback_comment(turn.tr, conv.nonce, rating))
    else:
        await turn.reply(Reply(turn.tr("patient.feedback.thanks", rating=str(rating))))


async def prompt(c: Ctx) -> Reply:
    return render.text_prompt(
        c.tr, c.nonce, "patient.feedback.comment", skip=True, max=str(render.COMMENT_MAX)
    )


async def on_button(c: Ctx, action: str, args: list[str]) -> None:
    if c.conv.step == "comment" and action == "skip":
        await c.accepted_press()
        await c.end()
        await c.say(Reply(c.tr("patient.feedback.comment_skipped")))
    else:
        c.stale()


async def on_message(c: Ctx, msg: Incoming) -> None:
    try:
        if msg.kind != "text":
            raise NeedText
        comment = validate_free_text(msg.text, max_len=render.COMMENT_MAX, min_len=2)
    except NeedText:
        await c.reject("common.media_not_expected", await prompt(c))
        return
    except InvalidInput as exc:
        await c.reject(exc.key, await prompt(c))
        return
    await feedback_service.record_comment(c.session, int(c.data["vid"]), comment)
    await c.end()
    await c.say(Reply(c.tr("patient.feedback.comment_thanks")))
