"""Record buttons of the staff side, one way: decode the press, load the record the presser may
see (the loader is the authorisation: db.services.access scopes it), or answer and stop.

The handler is left with what differs: the service call (which writes the audit row) and the reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import CallbackQuery, Update

from bot.callbacks import BadCallback, decode
from bot.turn import Turn
from db.models import Nurse, Visit
from db.services import access

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Press(Generic[T]):
    query: CallbackQuery
    args: T


@dataclass(frozen=True)
class RecordPress(Generic[R, T]):
    query: CallbackQuery
    record: R
    args: T


def press(
    turn: Turn, update: Update, prefix: str, arity: int, parse: Callable[[list[str]], T]
) -> Press[T] | None:
    """The parsed parts of a `prefix:` button; a forged or outdated one is answered as stale.

    `parse` raises BadCallback (or LookupError from a table lookup) for parts we did not produce."""
    query = update.callback_query
    assert query is not None
    try:
        args = parse(decode(query.data, prefix, arity))
    except (BadCallback, LookupError):
        turn.answer(query.id, turn.tr("common.stale_button"))
        return None
    return Press(query, args)


def one_of(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise BadCallback(text)
    return text


async def record_press(
    turn: Turn,
    update: Update,
    prefix: str,
    arity: int,
    parse: Callable[[list[str]], tuple[int, T]],
    load: Callable[[Turn, int], Awaitable[R | None]],
    missing: str,
) -> RecordPress[R, T] | None:
    """As `press`, then the record by the id `parse` returns first; `missing` (a locale key) is
    the alert when the presser may not see it or it is gone."""
    pressed = press(turn, update, prefix, arity, parse)
    if pressed is None:
        return None
    record_id, args = pressed.args
    record = await load(turn, record_id)
    if record is None:
        turn.answer(pressed.query.id, turn.tr(missing), alert=True)
        return None
    return RecordPress(pressed.query, record, args)


# --- loaders: the record as the presser may see it ------------------------------------------


async def head_visit(turn: Turn, visit_id: int) -> Visit | None:
    return await access.head_visit(turn.session, turn.clinic_id, visit_id)


async def head_nurse(turn: Turn, nurse_id: int) -> Nurse | None:
    return await access.head_nurse(turn.session, turn.clinic_id, nurse_id)


async def nurse_visit(turn: Turn, visit_id: int) -> Visit | None:
    return await access.nurse_visit(turn.session, turn.require_account(), turn.clinic_id, visit_id)
