"""Tables (SQLAlchemy 2 typed). The database is the truth; messages, jobs, keyboards derive from it.

Every clinic-owned row carries `clinic_id`, so a city-wide install can host several puskesmas.
All datetimes are UTC (`UTCDateTime`); calendar days (`date`) and windows are clinic-local.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime, utcnow

# Stable constraint names, so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


# --- clinics and people ------------------------------------------------------------------------


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Account(Base):
    """A Telegram account. One account may hold several roles (a nurse can be a caregiver too)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="id")
    # Set when the user chose a language with /bahasa (then Telegram's language_code is ignored).
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deletion request: identity removed, processing stopped.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Telegram answered 403/chat not found: messages cannot reach this account.
    undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    roles: Mapped[list[AccountRole]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )


class AccountRole(Base):
    __tablename__ = "account_roles"
    __table_args__ = (
        UniqueConstraint("account_id", "clinic_id", "role", name="uq_account_roles_triple"),
        CheckConstraint(
            "role IN ('patient','caregiver','nurse','head','admin','city_admin')",
            name="role_known",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _created()
    account: Mapped[Account] = relationship(back_populates="roles")


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    nik: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(300))
    kelurahan: Mapped[str | None] = mapped_column(String(100))
    rt_rw: Mapped[str | None] = mapped_column(String(10))
    landmark: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Continuity of care: the nurse who last completed a visit here.
    last_nurse_id: Mapped[int | None] = mapped_column(ForeignKey("nurses.id", ondelete="SET NULL"))
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Deletion request: identity fields are nulled, the row stays for visit logistics.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PatientLink(Base):
    """Which accounts may act for a patient: the patient themself, or a family caregiver."""

    __tablename__ = "patient_links"
    __table_args__ = (
        UniqueConstraint("account_id", "patient_id", name="uq_patient_links_pair"),
        CheckConstraint("relation IN ('self','caregiver')", name="relation_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    relation: Mapped[str] = mapped_column(String(16))
    # How the caregiver calls the patient: "Ibu saya", "Bapak".
    label: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """Recorded consent: who, for whom, when, and the hash of the exact text shown."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    text_version: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    given_at: Mapped[datetime] = _created()
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Nurse(Base):
    __tablename__ = "nurses"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    daily_cap: Mapped[int] = mapped_column(Integer, default=8)
    shift_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    shift_end: Mapped[time] = mapped_column(Time, default=time(14, 0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    # Her SATUSEHAT IHS number (Practitioner id): the Encounters she attended name her by it.
    ihs_number: Mapped[str | None] = mapped_column(String(20))


class NurseLeave(Base):
    """A day a nurse is not available (leave, sick, training); heads approve declared leave."""

    __tablename__ = "nurse_leave"
    __table_args__ = (UniqueConstraint("nurse_id", "day", name="uq_nurse_leave_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("nurses.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="leave")
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part-day availability (a shortened shift); null = whole day off.
    available_from: Mapped[time | None] = mapped_column(Time)
    available_until: Mapped[time | None] = mapped_column(Time)
    created_at: Mapped[datetime] = _created()


class ClinicClosure(Base):
    __tablename__ = "clinic_closures"
    __table_args__ = (UniqueConstraint("clinic_id", "day", name="uq_clinic_closures_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class DayCapacity(Base):
    """Remaining bookable nurse-minutes per day: the atomic counter that makes capacity real.

    A booking decrements it with a conditional UPDATE (`remaining >= needed`), so two patients
    racing for the last place cannot both succeed, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "day_capacity"
    __table_args__ = (
        UniqueConstraint("clinic_id", "day", name="uq_day_capacity_day"),
        CheckConstraint("remaining_min >= 0", name="remaining_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    day: Mapped[date] = mapped_column(Date)
    total_min: Mapped[int] = mapped_column(Integer)
    remaining_min: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- visits ---------------------------------------------------------------------------------


class Visit(Base):
    """A home-visit request and, once planned, the visit itself (status in `scheduler.visits`)."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_clinic_day_status", "clinic_id", "day", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    requested_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    service_type: Mapped[str] = mapped_column(String(40))
    complaint: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default="routine")
    day: Mapped[date] = mapped_column(Date)
    window_start: Mapped[time] = mapped_column(Time)
    window_end: Mapped[time] = mapped_column(Time)
    duration_min: Mapped[int] = mapped_column(Integer)
    # Capacity taken from DayCapacity at booking (given back on cancel/reschedule).
    capacity_min: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24), default="requested")
    nurse_id: Mapped[int | None] = mapped_column(
        ForeignKey("nurses.id", ondelete="SET NULL"), index=True
    )
    planned_arrival: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmation: Mapped[str | None] = mapped_column(String(16))  # yes / no / unanswered
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    unplaced_reason: Mapped[str | None] = mapped_column(String(64))
    nurse_note: Mapped[str | None] = mapped_column(Text)
    vitals: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A visit of a recurring series, or the follow-up asked for at another visit's "Selesai".
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit_series.id", ondelete="SET NULL"), index=True
    )
    follow_up_of: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VisitSeries(Base):
    """Recurring visits a head set up for a patient; each occurrence is an ordinary Visit.

    `rule` is `scheduler.series` key form ("every:3x5", "weekly:0,3:2027-01-31").
    """

    __tablename__ = "visit_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    service_type: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(64))
    start_day: Mapped[date] = mapped_column(Date)
    window_start: Mapped[time] = mapped_column(Time)
    window_end: Mapped[time] = mapped_column(Time)
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VisitStatusChange(Base):
    """The status history: every transition with actor and time, for later review."""

    __tablename__ = "visit_status_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    actor_role: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(300))
    # An event that changes no status (from == to): {"event": "moved", "from": {...}, "to": {...}}
    # or {"event": "plan", "nurse_id": ..., "start": ISO}. Logistics only, no identity.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = _created()


class EmergencyReferral(Base):
    """A danger sign at intake: the family was sent to 112/119 instead of a booking."""

    __tablename__ = "emergency_referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    signs: Mapped[list[Any]] = mapped_column(JSON)
    service_type: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = _created()


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = _created()


# --- planning ---------------------------------------------------------------------------------


class PlanRun(Base):
    __tablename__ = "plan_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="nightly")  # nightly/manual/replan/insert
    started_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # Planning runs are queued rows (queued → running → done | failed), written in the same
    # transaction as their cause (a cancelled visit, a sick nurse, /rencana); the planning worker
    # runs them outside any update's transaction. A crash leaves "running": queued again at start.
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    # Who asked for it (a head's /rencana): the result is reported to them.
    requested_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    # Why it was queued, for the record ("visit 12 cancelled", "nurse 3 sick").
    reason: Mapped[str | None] = mapped_column(String(200))


class Route(Base):
    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("nurse_id", "day", name="uq_routes_nurse_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    nurse_id: Mapped[int] = mapped_column(ForeignKey("nurses.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"))
    travel_s: Mapped[int] = mapped_column(Integer, default=0)
    distance_m: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = _created()
    stops: Mapped[list[RouteStop]] = relationship(
        back_populates="route",
        cascade="all, delete-orphan",
        order_by="RouteStop.seq",
        lazy="selectin",
    )


class RouteStop(Base):
    __tablename__ = "route_stops"
    __table_args__ = (UniqueConstraint("route_id", "seq", name="uq_route_stops_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    arrive: Mapped[datetime] = mapped_column(UTCDateTime())
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    route: Mapped[Route] = relationship(back_populates="stops")


class Invite(Base):
    """Single-use staff invite: only the hash of the 128-bit code is stored."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


# --- delivery and durability -----------------------------------------------------------------


class InboxUpdate(Base):
    """Every Telegram update, committed before its offset is confirmed (durable intake)."""

    __tablename__ = "inbox"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = _created()
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(300))
    # Content erased (retention or a deletion request); update_id stays for deduplication.
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message the bot will send: replies and bot-initiated messages alike.

    Written in the same transaction as the change that causes it; the relay sends it and marks it
    sent. `dedupe_key` stops a job that runs twice from queueing the same message twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "not_before"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    # The Bot API method it goes out with; for an intent, the template's usual one (pacing hint).
    method: Mapped[str] = mapped_column(String(32))
    # An intent: what to tell (template key + plain JSON parameters), rendered by the relay at
    # send time in the recipient's language of that moment (see bot/templates/).
    template: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A rendered message (a reply composed in the turn it answers); None for an intent.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Legacy: bytes of an attachment inside the row (rows queued before 0002; read only).
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A document or photo to attach (reports, exports): a file row that can be erased.
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32), default="reply")
    source_update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(14), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts whose outcome is unknown (timeout after sending, crash before the mark): each may
    # have delivered the message, so each allows one more copy (see bot/delivery.py).
    uncertain: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = _created()
    # Past this moment the message is useless (a reminder after the visit began): not sent.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Payload/params erased (retention or a deletion request); the row stays for dedupe keys.
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StoredFile(Base):
    """A file the bot will send (an export, a report): kept only until it has been delivered.

    Bytes live here, not inside outbox rows, so deleting a person's data or pruning what has been
    served erases one row. `account_id` is whom it is about or for (deletion reaches it).
    """

    __tablename__ = "stored_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()


class Reminder(Base):
    """A reminder owned by the database; scheduler jobs are rebuilt from these rows."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "visit_id", "kind", "recipient_account_id", "seq", name="uq_reminders_kind"
        ),
        Index("ix_reminders_status_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    recipient_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    recipient_role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    # Tells apart several reminders of one kind to one person (nurse reminders at 60 and 15 min).
    seq: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffTask(Base):
    """Work for the clinic heads: phone a patient the bot cannot reach, an unplaced request…"""

    __tablename__ = "staff_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = _created()
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Where a person is in a multi-step flow, so a restart mid-booking continues."""

    __tablename__ = "conversations"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Inline keyboards carry this nonce; a button from an older message is recognised as stale.
    nonce: Mapped[str] = mapped_column(String(12), default="")
    updated_at: Mapped[datetime] = _created()


class AuditEntry(Base):
    """Append-only, hash-chained: each row's hash covers the previous row's hash."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    at: Mapped[datetime] = _created()
    actor_account_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
