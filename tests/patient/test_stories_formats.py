"""One visit-code format, one date style per language, and an export that tells the visit's story
in words (issue 10 item 9).

Time starts at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW); two nurses 08:00–14:00.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest

from bot.app import HomecareApp
from bot.i18n import Translator
from bot.render.formats import day_long
from scheduler.visits import VisitStatus
from tests.patient.helpers import NOW, book, expect, last, register_self, user
from tests.patient.story_helpers import no_failures

SHOWN_CODE = re.compile(r"\b[0-9A-Z]{3}-[0-9A-Z]{3}\b")
# 07/12/2026, "07/12 09:30", 2026-12-07, seconds: none reaches the family (RT/RW 003/005 may).
OTHER_DATE_STYLES = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}/\d{1,2} \d{2}:\d{2}|\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}"
)
TUESDAY, WEDNESDAY = date(2026, 11, 10), date(2026, 11, 11)
WEDNESDAY_SHORT = {"id": "Rab 11 Nov", "en": "Wed 11 Nov"}


async def _english(u: Any) -> None:
    await u.send("/bahasa")
    await last(u)
    await u.press("English")
    await last(u)


def _code_in(text: str) -> str:
    [code] = set(SHOWN_CODE.findall(text))
    assert code.replace("-", "") not in text  # never the undashed form next to it
    return code


@pytest.mark.parametrize("language", ["id", "en"])
async def test_code_and_dates_are_written_one_way_and_the_export_tells_the_story(
    app: HomecareApp, client: Any, clock: Any, language: str
) -> None:
    tr = Translator(language)
    nai = await user(client, "nai")
    await register_self(nai)
    confirmation = await book(nai)  # Tuesday 08:00–10:00
    code = _code_in(confirmation.plain_text)
    if language == "en":
        await _english(nai)

    # The list shows the same code in the same form (text and buttons).
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    assert _code_in(listing.plain_text) == code
    assert listing.buttons[0].text == tr("patient.visits.move_btn", code=code)

    # Reschedule Tuesday 08:00–10:00 → Wednesday 10:00–12:00.
    await nai.press(listing.buttons[0].text)
    await last(nai)
    await nai.press(WEDNESDAY_SHORT[language])
    await last(nai)
    await nai.press("10:00–12:00")
    summary = await last(nai)
    await nai.press(summary.buttons[0].text)
    moved = await last(nai)
    assert day_long(tr, WEDNESDAY) in moved.plain_text

    # Tuesday 18:00: the nightly plan gives Wednesday's visit a nurse and a time.
    clock.move_to(NOW + timedelta(days=1, hours=9))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done" and outcome.assigned == 1, outcome
    # The plan notice, and the "at home?" question when it is due: whatever came meanwhile.
    told = await nai.wait_messages(5, 3.0)
    assert told, "the family heard nothing of the plan"
    for message in (confirmation, listing, summary, moved, *told):
        assert not OTHER_DATE_STYLES.search(message.plain_text), message.plain_text
    for message in (summary, moved):
        assert day_long(tr, WEDNESDAY) in message.plain_text

    # The export: the visit's history in sentences, with the reschedule from → to.
    await nai.send("/data_saya")
    await last(nai)
    await nai.press(tr("patient.data.export_btn"))
    readable, machine = await expect(nai, 2)
    assert readable.document is not None and machine.document is not None
    text = (await nai.file_bytes(readable.document)).decode("utf-8")
    assert code in text and code.replace("-", "") not in text
    assert (
        tr(
            "formats.history.moved",
            old_day=day_long(tr, TUESDAY),
            old_window="08:00–10:00",
            day=day_long(tr, WEDNESDAY),
            window="10:00–12:00",
        )
        in text
    )
    plan_lead = tr("formats.history.plan_first", nurse="Perawat", time="").split("Perawat")[0]
    assert re.search(re.escape(plan_lead) + r"Perawat \d", text), text
    assert tr("formats.history.created") in text
    assert tr("formats.history.status.scheduled") in text
    for status in VisitStatus:
        assert f"→ {status.value}" not in text and f"({status.value})" not in text
        if "_" in status.value or language == "id":
            assert status.value not in text, status.value
    assert "(system)" not in text and "(patient)" not in text
    assert not OTHER_DATE_STYLES.search(text), OTHER_DATE_STYLES.search(text)
    assert day_long(tr, WEDNESDAY) in text

    # The JSON keeps machine values, in local ISO time without microseconds.
    data = json.loads(await nai.file_bytes(machine.document))
    [visit] = data["patients"][0]["visits"]
    assert visit["code"] == code and visit["day"] == "2026-11-11"
    events = [h["event"] for h in visit["history"] if h["event"]]
    assert events[0] == {
        "event": "moved",
        "from": {"day": "2026-11-10", "window": "08:00-10:00"},
        "to": {"day": "2026-11-11", "window": "10:00-12:00"},
    }
    assert events[1]["event"] == "plan" and events[1]["nurse"].startswith("Perawat ")
    stamps = [h["at"] for h in visit["history"]] + [visit["requested_at"], events[1]["start"]]
    for stamp in stamps:
        assert stamp.endswith("+08:00") and "." not in stamp, stamp
    await no_failures(app)
