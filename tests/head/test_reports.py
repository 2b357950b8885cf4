"""Reports: numbers checked against a hand count of a fixture week, the chart, /laporan, and the
weekly report pushed to every head."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import Translator, t
from bot.render import head as render
from db.models import EmergencyReferral, Feedback, OutboxMessage, Route
from db.services import reports
from tests.head import factory
from tests.head.conftest import Person

WITA = ZoneInfo("Asia/Makassar")


def this_monday() -> date:
    """Monday of the current week (the tests' clock is frozen on a Monday, tests.head.NOW)."""
    return reports.week_of(datetime.now(UTC).astimezone(WITA).date()).start


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@dataclass(frozen=True)
class Spec:
    """One visit of the fixture week: offsets are days from the week's Monday."""

    day: int
    created: tuple[int, int, int]  # (day offset, hour, minute) WITA
    status: str
    nurse: str | None
    kelurahan: str
    service: str
    window: tuple[int, int]
    started: tuple[int, int] | None = None  # (hour, minute) WITA on the visit day
    completed: tuple[int, int] | None = None
    rating: int | None = None


# The fixture week, with the hand count below (see the comments).
SPECS = (
    Spec(
        0, (-3, 9, 0), "completed", "Siti", "Karunrung", "wound_care", (8, 10), (8, 30), (9, 15), 5
    ),
    Spec(
        0,
        (-2, 10, 0),
        "completed",
        "Andi",
        "Tidung",
        "chronic_check",
        (8, 10),
        (10, 30),
        (11, 0),
        4,
    ),
    Spec(
        1, (0, 8, 0), "completed", "Siti", "Karunrung", "wound_care", (10, 12), (11, 0), (11, 40), 4
    ),
    Spec(2, (0, 12, 0), "not_home", "Andi", "Mappala", "chronic_check", (8, 10)),
    Spec(3, (1, 9, 0), "cancelled_by_patient", None, "Karunrung", "elderly_care", (8, 10)),
    Spec(4, (2, 9, 0), "cancelled_by_clinic", None, "Tidung", "wound_care", (10, 12)),
    Spec(5, (3, 9, 0), "referred", "Siti", "Mappala", "chronic_check", (8, 10)),
    Spec(5, (3, 14, 0), "completed", "Andi", "Karunrung", "injection", (12, 14), None, (12, 30), 3),
    Spec(7, (5, 9, 0), "requested", None, "Tidung", "wound_care", (8, 10)),  # next week
    Spec(-3, (-5, 9, 0), "completed", "Siti", "Tidung", "wound_care", (8, 10), (9, 0), (9, 30), 1),
)
ROUTES = (
    ("Siti", 0, 5200),
    ("Siti", 1, 3100),
    ("Siti", 5, 4000),
    ("Siti", 7, 9999),
    ("Andi", 0, 6000),
    ("Andi", 2, 2500),
    ("Andi", 5, 1500),
)
# Intake referrals (danger signs, no visit booked): (day offset, hour, minute) WITA.
INTAKE = ((1, 10, 0), (7, 9, 0), (-1, 23, 30))


def at(monday: date, offset: int, hh: int, mm: int) -> datetime:
    return datetime.combine(monday + timedelta(days=offset), time(hh, mm), WITA).astimezone(UTC)


def assert_hand_count(r: reports.Report) -> None:
    assert r.requests == 7  # created Mon..Sun: specs 3–9
    assert r.due == 8  # visit day Mon..Sun: specs 1–8
    assert r.completed == 4
    assert (r.cancelled_by_patient, r.cancelled_by_clinic, r.not_home) == (1, 1, 1)
    assert (r.referred_at_visit, r.referred_at_intake, r.referrals) == (1, 1, 2)
    # waits 71.5, 48.5, 27.0, 46.5 h → median 47.5
    assert r.median_wait_h == 47.5
    assert (r.on_time, r.on_time_of, r.on_time_rate) == (3, 4, 0.75)  # spec 2 started late
    # ratings 5, 4, 4, 3 (spec 10 is another week) → mean 4.0 → SKM 25 + 3 × 18.75
    assert (r.ratings, r.rating_mean, r.skm_index, r.skm_grade) == (4, 4.0, 81.25, "B")
    assert [(n.name, n.completed, n.attended, n.km) for n in r.nurses] == [
        ("Andi", 2, 3, 10.0),
        ("Siti", 2, 3, 12.3),
    ]
    assert [(b.key, b.due, b.completed) for b in r.by_kelurahan] == [
        ("Karunrung", 4, 3),
        ("Mappala", 2, 0),
        ("Tidung", 2, 1),
    ]
    assert [(b.key, b.due, b.completed) for b in r.by_service] == [
        ("chronic_check", 3, 1),
        ("wound_care", 3, 2),
        ("elderly_care", 1, 0),
        ("injection", 1, 1),
    ]
    assert [(s.completed, s.not_home, s.cancelled, s.other) for s in r.series] == [
        (2, 0, 0, 0),
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 0, 1, 0),
        (1, 0, 0, 1),
        (0, 0, 0, 0),
    ]


def test_report_numbers_match_the_hand_count() -> None:
    monday = date(2026, 11, 16)
    ids = {"Siti": 1, "Andi": 2}
    visits = []
    ratings = []
    for i, sp in enumerate(SPECS, start=1):
        day = monday + timedelta(days=sp.day)
        visits.append(
            reports.VisitRow(
                id=i,
                day=day,
                created_at=at(monday, *sp.created),
                status=sp.status,
                service_type=sp.service,
                kelurahan=sp.kelurahan,
                nurse_id=ids[sp.nurse] if sp.nurse else None,
                window_start=time(sp.window[0]),
                window_end=time(sp.window[1]),
                started_at=at(monday, sp.day, *sp.started) if sp.started else None,
                completed_at=at(monday, sp.day, *sp.completed) if sp.completed else None,
            )
        )
        if sp.rating:
            ratings.append((i, sp.rating))
    data = reports.ReportInput(
        period=reports.week_of(monday),
        tz=WITA,
        visits=visits,
        routes=[reports.RouteRow(ids[n], monday + timedelta(days=d), m) for n, d, m in ROUTES],
        ratings=ratings,
        intake_referrals=[at(monday, *x) for x in INTAKE],
        nurse_names={v: k for k, v in ids.items()},
    )
    assert_hand_count(reports.compute(data))


def test_skm_scale_and_grades() -> None:
    assert reports.skm_index(1.0) == 25.0 and reports.skm_index(5.0) == 100.0
    assert [reports.skm_grade(x) for x in (100, 88.31, 88.3, 76.61, 76.6, 65.0, 64.99)] == list(
        "AABBCCD"
    )


def test_periods() -> None:
    w = reports.week_of(date(2026, 11, 19))
    assert (w.start, w.end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert reports.period_from_token(w.token()) == w
    m = reports.month_of(date(2026, 2, 10))
    assert (m.start, m.end, m.previous().start) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        date(2026, 1, 1),
    )
    assert reports.period_from_token("w20261117") is None  # not a Monday
    assert reports.period_from_token("m202613") is None


def test_chart_is_a_png_of_the_expected_size() -> None:
    r = reports.compute(reports.ReportInput(reports.week_of(date(2026, 11, 16)), WITA, []))
    png = render.report_chart(Translator("id"), r)
    assert png_size(png) == render.CHART_SIZE_PX == (960, 540)


async def seed_week(app: HomecareApp, monday: date) -> None:
    async with app.db.transaction() as s:
        cid = app.clinic_id
        nurses = {
            "Siti": await factory.nurse(s, cid, "Siti"),
            "Andi": await factory.nurse(s, cid, "Andi"),
        }
        patients: dict[str, Any] = {}
        for sp in SPECS:
            if sp.kelurahan not in patients:
                patients[sp.kelurahan] = await factory.patient(
                    s, cid, f"Pasien {sp.kelurahan}", sp.kelurahan
                )
            v = await factory.visit(
                s,
                cid,
                patients[sp.kelurahan],
                monday + timedelta(days=sp.day),
                sp.status,
                window=sp.window,
                service=sp.service,
                who=nurses[sp.nurse] if sp.nurse else None,
                created_at=at(monday, *sp.created),
                started_at=at(monday, sp.day, *sp.started) if sp.started else None,
                completed_at=at(monday, sp.day, *sp.completed) if sp.completed else None,
            )
            if sp.rating:
                s.add(Feedback(visit_id=v.id, rating=sp.rating))
        for name, d, metres in ROUTES:
            s.add(
                Route(
                    clinic_id=cid,
                    nurse_id=nurses[name].id,
                    day=monday + timedelta(days=d),
                    distance_m=metres,
                )
            )
        for x in INTAKE:
            s.add(EmergencyReferral(clinic_id=cid, signs=["chest_pain"], at=at(monday, *x)))


async def test_report_from_the_database_matches_the_hand_count(app: HomecareApp) -> None:
    monday = this_monday() - timedelta(days=7)
    await seed_week(app, monday)
    async with app.db.read() as s:
        r = await reports.build(s, app.clinic_id, reports.week_of(monday), WITA)
    assert_hand_count(r)


async def test_laporan_sends_the_chart_and_the_numbers(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    monday = this_monday() - timedelta(days=7)
    await seed_week(app, monday)
    await head.user.send("/laporan minggu")
    photo, text = await head.user.wait_messages(2)
    assert photo.kind == "photo" and photo.photo is not None
    assert (photo.photo.width, photo.photo.height) == (960, 540)
    assert png_size(await head.user.client.file_bytes(photo.photo)) == (960, 540)
    assert text.text.startswith(f"<b>Laporan minggu {this_monday():%d/%m/%Y}")
    # Last week: the fixture.
    await head.user.press("◀ Sebelumnya")
    photo2, last = await head.user.wait_messages(2)
    assert photo2.kind == "photo"
    assert "Permintaan masuk: 7" in last.text
    assert "Selesai: 4 (50%)" in last.text
    assert "Dibatalkan: pasien 1, puskesmas 1" in last.text
    assert "Pasien tidak di rumah: 1" in last.text
    assert "Rujukan tanda bahaya: 2 (saat permintaan 1, saat kunjungan 1)" in last.text
    assert "47.5 jam" in last.text
    assert "75% (3 dari 4)" in last.text
    assert "81.25 — mutu B (baik)" in last.text
    assert "Andi: 2 / 3 / 10.0 km" in last.text and "Siti: 2 / 3 / 12.3 km" in last.text
    assert "Karunrung: 4 / 3" in last.text and "Cek hipertensi/diabetes: 3 / 1" in last.text

    for name, role in (("ani", "patient"), ("rina", "nurse")):
        other: Person = await make_person(name, role)
        await other.user.send("/laporan minggu")
        assert (await other.user.wait_message()).text == t("id", "common.not_allowed")


async def test_weekly_report_reaches_every_head_once(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    from bot.handlers.head_reports import send_weekly_reports

    monday = this_monday()
    await seed_week(app, monday - timedelta(days=7))
    second: Person = await make_person("wakil", "head", language="en")
    nurse: Person = await make_person("rina", "nurse")
    when = datetime.combine(monday, time(7, 0), WITA)
    assert len(await send_weekly_reports(app, when)) == 4  # photo + text, two heads
    assert await send_weekly_reports(app, when + timedelta(hours=2)) == []  # once a week
    for person, words in ((head, "Permintaan masuk: 7"), (second, "Requests received: 7")):
        photo, text = await person.user.wait_messages(2)
        assert photo.kind == "photo" and words in text.text
    await nurse.user.expect_no_message(0.3)
    async with app.db.read() as s:
        kinds = list(
            await s.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind == "weekly_report"))
        )
    assert len(kinds) == 4

    job = app.jobs.scheduler.get_job("report:weekly")
    assert job is not None
    nxt = job.next_run_time.astimezone(WITA)
    assert (nxt.weekday(), nxt.hour, nxt.minute) == (0, 7, 0)
