"""Deletion deletes (issue 10 item 1): after /data_saya → 🗑 Ya, hapus, none of the person's
values remain in any table's text, JSON or binary column, nor in any file of the data folder
(the SQLite file and its WAL included); raw updates and sent messages are emptied after the
retention, their ids kept for deduplication.

Time stands at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, MetaData, String, Text, select

from bot.app import HomecareApp
from bot.i18n import t
from db.models import InboxUpdate, OutboxMessage, Patient, StoredFile, Visit
from db.types import utcnow
from tests.patient.helpers import book, expect, last, register_self
from tests.patient.story_helpers import account_of, head_user, no_failures, rows
from tests.patient.test_stories_words import _delete_my_data, _english

NAME = "Karaeng Pattingalloang"
COMPLAINT = "Borok bernanah di tumit kiri"
REASON = "Sudah diantar cucu ke RS Wahidin"
PROFILE = {"first_name": "Pattingalloang", "username": "karaeng_tallo"}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "ignore")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def _found_in_database(app: HomecareApp, values: list[str]) -> list[str]:
    """Every text/JSON/blob column of every table in the live schema (reflected, not listed)."""
    found: list[str] = []
    async with app.db.read() as session:
        conn = await session.connection()
        meta = MetaData()
        await conn.run_sync(meta.reflect)
        assert len(meta.tables) >= 20, "the reflection did not see the schema"
        for table in meta.tables.values():
            columns = [
                c for c in table.columns if isinstance(c.type, (String, Text, JSON, LargeBinary))
            ]
            if not columns:
                continue
            for row in (await conn.execute(select(*columns))).all():
                for column, cell in zip(columns, row, strict=True):
                    text = _as_text(cell).casefold()
                    found += [
                        f"{table.name}.{column.name}: {v!r}" for v in values if v.casefold() in text
                    ]
    return found


def _found_in_files(folder: Path, values: list[str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.name}: {v!r}" for v in values if v.lower().encode() in data]
    return found


async def _settled(app: HomecareApp) -> None:
    """Until nothing waits to be sent and no file is stored (the relay finished)."""
    for _ in range(100):
        pending = await rows(app, OutboxMessage, OutboxMessage.status.in_(("pending", "sending")))
        if not pending and not await rows(app, StoredFile):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the relay did not settle")


async def _cancel_with_typed_reason(u: Any) -> None:
    await u.send("/kunjungan_saya")
    listing = await last(u)
    await u.press(listing.buttons[1].text)  # ✖ Batalkan <code>
    await last(u)  # the reasons
    await u.send(REASON)
    await last(u)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_nothing_of_the_person_remains_after_deletion(
    app: HomecareApp, client: Any, language: str
) -> None:
    kar = await client.user("karaeng", language_code="id", **PROFILE)
    await register_self(kar, name=NAME)
    await book(kar, complaint=COMPLAINT)
    await _cancel_with_typed_reason(kar)
    await book(kar, complaint=COMPLAINT, day_index=1)  # an open visit, cancelled by the deletion
    if language == "en":
        await _english(kar)
    # The family's own export (.txt + .json) and the head's export naming the patient.
    await kar.send("/data_saya")
    await last(kar)
    await kar.press(t(language, "patient.data.export_btn"))
    assert len(await kar.wait_messages(5, 3.0)) >= 2
    head = await head_user(client)
    await head.send("/ekspor 2026-11-01 2026-11-30 json")
    await expect(head, 1)
    await _settled(app)

    [patient] = await rows(app, Patient)
    [cancelled] = await rows(app, Visit, Visit.cancel_reason.is_not(None))
    values = [
        NAME,
        patient.phone,
        patient.nik,
        patient.address,
        patient.landmark,
        COMPLAINT,
        REASON,
        *PROFILE.values(),
    ]
    assert cancelled.cancel_reason == REASON and patient.landmark and patient.phone
    before = await _found_in_database(app, values)
    assert any(f.startswith("inbox.payload") for f in before), "the scan cannot fail"
    assert any(f.startswith("outbox.") for f in before)

    await _delete_my_data(kar, language)
    await _settled(app)
    await asyncio.sleep(0.5)  # the WAL checkpoint after the deletion's commit
    assert await _found_in_database(app, values) == []
    if app.db.is_sqlite:
        folder = Path(app.db.engine.url.database or "").parent
        assert any(folder.glob("*.db"))
        assert _found_in_files(folder, values) == []
    account = await account_of(app, kar.id)
    assert account.deleted_at is not None and account.first_name == ""
    await kar.send("/kunjungan_saya")
    assert (await last(kar)).plain_text == t(language, "common.after_deletion")
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_old_updates_and_sent_messages_are_emptied_but_still_deduplicate(
    app: HomecareApp, client: Any, language: str
) -> None:
    kar = await client.user("karaeng", language_code=language, **PROFILE)
    await kar.send("/start")
    await last(kar)
    await _settled(app)
    [update] = await rows(app, InboxUpdate)
    assert update.status == "done" and "Pattingalloang" in json.dumps(update.payload)
    hours = app.config.privacy.raw_retention_hours

    # Not yet old: nothing changes.
    assert (await app.jobs.privacy.prune(utcnow() + timedelta(hours=hours - 1))).inbox == 0
    pruned = await app.jobs.privacy.prune(utcnow() + timedelta(hours=hours, minutes=1))
    assert pruned.inbox == 1 and pruned.outbox >= 1
    [update] = await rows(app, InboxUpdate)
    assert update.payload == {"update_id": update.update_id} and update.pruned_at is not None
    for sent in await rows(app, OutboxMessage):
        assert sent.payload is None and sent.params is None and sent.pruned_at is not None

    # Telegram delivers the same update again: recognised by its id, not handled twice.
    replies = len(await rows(app, OutboxMessage))
    raw = {"update_id": update.update_id, "message": {"message_id": 1, "date": 0, "text": "/x"}}
    await app.intake.store([raw])
    await app.intake.drain()
    [again] = await rows(app, InboxUpdate)
    assert again.payload == {"update_id": update.update_id}
    assert len(await rows(app, OutboxMessage)) == replies
    await no_failures(app)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ibu KARAENG PATTINGALLOANG sakit", "Ibu — sakit"),
        ({"name": "Karaeng Pattingalloang", "lat": -5.1601}, {"name": "—", "lat": None}),
        (["depan masjid, pagar hijau", 3, -5.2], ["—", 3, -5.2]),
        ("3/5 dekat pasar", "3/5 dekat pasar"),  # too short to search for: left alone
        (None, None),
    ],
)
def test_scrub_replaces_the_persons_values_only(value: Any, expected: Any) -> None:
    from db.services.erasure import Traces, scrub

    traces = Traces()
    traces.add("Karaeng Pattingalloang", "depan masjid, pagar hijau", "3/5", -5.1601)
    assert scrub(value, traces) == expected
