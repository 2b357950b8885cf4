"""Rating a visit afterwards."""

from __future__ import annotations

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_long
from bot.render.patient.common import (
    COMMENT_MAX,
    FEEDBACK_PREFIX,
    VisitLike,
    cb,
    code_label,
)


def feedback_request(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(
        tr("patient.feedback.request", code=code_label(visit.code), day=day_long(tr, visit.day)),
        buttons=(
            tuple(Button(str(r), data=encode(FEEDBACK_PREFIX, visit.id, r)) for r in range(1, 6)),
        ),
    )


def feedback_comment(tr: Translator, nonce: str, rating: int) -> Reply:
    return Reply(
        tr("patient.feedback.thanks", rating=str(rating))
        + "\n\n"
        + tr("patient.feedback.comment", max=str(COMMENT_MAX)),
        buttons=((Button(tr("patient.skip"), data=cb(nonce, "skip")),),),
    )
