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


Groups = list[tuple[type[Base], list[dict[str, Any]]]]


def group_rows(objs: Sequence[Base]) -> Groups:
    """`objs` as the batches `insert_all` sends: one per table and set of columns given; within
    a table the first-seen order of those sets is kept, and the rows' order in each."""
    groups: dict[tuple[type[Base], frozenset[str]], list[dict[str, Any]]] = {}
    for obj in objs:
        values = values_of(obj)
        groups.setdefault((type(obj), frozenset(values)), []).append(values)
    return [(model, rows) for (model, _), rows in groups.items()]


def group_values(model: type[Base], rows: Sequence[dict[str, Any]]) -> Groups:
    """`group_rows` for rows given as values (what `Model(**values)` would insert). Pure: the
    plan's write runs it in a worker thread."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for values in rows:
        groups.setdefault(frozenset(values), []).append(values)
    return [(model, group) for group in groups.values()]


async def insert_groups(session: AsyncSession, groups: Groups) -> None:
    """One executemany per group. A None given is written as NULL (`render_nulls`): without it
    SQLAlchemy drops None values row by row and the batch falls apart into single INSERTs."""
    for model, rows in groups:
        await session.execute(insert(model), rows, execution_options={"render_nulls": True})


async def insert_all(session: AsyncSession, objs: Sequence[Base]) -> None:
    """INSERT `objs` (not added to `session`), batched as `group_rows` says."""
    await insert_groups(session, group_rows(objs))
