"""Many new rows in few statements, for writers that hold the write lock (the plan's write):
ORM objects built but never added to the session, inserted with SQLAlchemy's bulk INSERT
(executemany), which skips the unit of work's per-object bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Base


@cache
def _column_keys(model: type[Base]) -> tuple[str, ...]:
    return tuple(a.key for a in inspect(model).column_attrs)


def values_of(obj: Base) -> dict[str, Any]:
    """The column values set on `obj` (unset ones take the column's default)."""
    state = obj.__dict__
    return {k: state[k] for k in _column_keys(type(obj)) if k in state}


async def insert_all(session: AsyncSession, objs: Sequence[Base]) -> None:
    """INSERT `objs` (not added to `session`): one executemany per table and set of columns
    given; within a table the first-seen order of those sets is kept, and the rows' order in
    each. A None given is written as NULL (`render_nulls`): without it SQLAlchemy drops None
    values row by row and the batch falls apart into single INSERTs."""
    groups: dict[tuple[type[Base], frozenset[str]], list[dict[str, Any]]] = {}
    for obj in objs:
        values = values_of(obj)
        groups.setdefault((type(obj), frozenset(values)), []).append(values)
    for (model, _), rows in groups.items():
        await session.execute(insert(model), rows, execution_options={"render_nulls": True})
