"""Data rights (`/data_saya`): see everything stored about me and my patients, correct it, or ask
for deletion.

Deletion stops processing and removes identity: the account's name is dropped and it is marked
deleted (the bot then answers "your data was deleted; /start" until /start), open visits are
cancelled, and each patient the account registered for itself — or cares for alone — has its
identity columns nulled and is marked deleted. The copies go too (`db.services.erasure`): raw
updates of the person's chat, messages to or naming them, files waiting to be sent, typed
reasons and notes, planner snapshots. Kept, without identity: visit logistics (day, window,
service, status history without notes) and the nurse's record of visits that took place, which
the clinic must retain; emergency referrals; ratings without comments; the audit chain. README's
Privacy section lists every kept column and why. A patient another caregiver still manages keeps
their data; only this account's link is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    AccountRole,
    Clinic,
    Consent,
    EmergencyReferral,
    Feedback,
    Nurse,
    Patient,
    PatientLink,
    Visit,
    VisitStatusChange,
)
from db.services import audit, console_auth, conversation, erasure
from db.services.consent import withdraw_all
from db.services.my_visits import tell_staff
from db.services.patients import Notes, my_patients
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import change_status
from homecare.config import Config
from scheduler.formats import iso_local, visit_code
from scheduler.visits import Actor, VisitStatus, can_transition

FAMILY_ROLES = ("patient", "caregiver")


async def _history_detail(
    session: AsyncSession, detail: dict[str, Any] | None, tz: ZoneInfo
) -> dict[str, Any] | None:
    """The event of a history row as the family reads it: the nurse by name, times local."""
    if not detail:
        return None
    out = dict(detail)
    if out.get("event") == "plan":
        nurse = await session.get(Nurse, out.pop("nurse_id", None) or 0)
        out["nurse"] = nurse.name if nurse else None
        if out.get("start"):
            out["start"] = iso_local(datetime.fromisoformat(out["start"]), tz)
    return out


async def export(session: AsyncSession, account: Account, clinic_id: int) -> dict[str, Any]:
    """Everything stored about this account and its patients, as plain JSON-able data (times
    in the clinic's zone, ISO 8601 with offset, whole seconds)."""
    clinic = await session.get(Clinic, clinic_id)
    tz = ZoneInfo(clinic.timezone if clinic else "Asia/Makassar")

    def _iso(value: Any) -> Any:
        return iso_local(value, tz)

    consents = list(
        await session.scalars(
            select(Consent).where(Consent.account_id == account.id).order_by(Consent.id)
        )
    )
    patients_out: list[dict[str, Any]] = []
    for mine in await my_patients(session, account.id, clinic_id):
        p = mine.patient
        visits = list(
            await session.scalars(
                select(Visit).where(Visit.patient_id == p.id).order_by(Visit.day, Visit.id)
            )
        )
        visits_out = []
        for v in visits:
            history = list(
                await session.scalars(
                    select(VisitStatusChange)
                    .where(VisitStatusChange.visit_id == v.id)
                    .order_by(VisitStatusChange.id)
                )
            )
            feedback = await session.scalar(select(Feedback).where(Feedback.visit_id == v.id))
            nurse = await session.get(Nurse, v.nurse_id) if v.nurse_id else None
            visits_out.append(
                {
                    "code": visit_code(v.code),
                    "day": _iso(v.day),
                    "window": f"{v.window_start:%H:%M}-{v.window_end:%H:%M}",
                    "service": v.service_type,
                    "complaint": v.complaint,
                    "status": v.status,
                    "nurse": nurse.name if nurse else None,
                    "cancel_reason": v.cancel_reason,
                    "nurse_note": v.nurse_note,
                    "vitals": v.vitals,
                    "planned_start": _iso(v.planned_start),
                    "requested_at": _iso(v.created_at),
                    "history": [
                        {
                            "from": h.from_status,
                            "to": h.to_status,
                            "by": h.actor_role,
                            "at": _iso(h.at),
                            "note": h.note,
                            "event": await _history_detail(session, h.detail, tz),
                        }
                        for h in history
                    ],
                    "feedback": (
                        {"rating": feedback.rating, "comment": feedback.comment}
                        if feedback
                        else None
                    ),
                }
            )
        referrals = list(
            await session.scalars(
                select(EmergencyReferral)
                .where(EmergencyReferral.patient_id == p.id)
                .order_by(EmergencyReferral.id)
            )
        )
        patients_out.append(
            {
                "relation": mine.link.relation,
                "label": mine.link.label,
                "full_name": p.full_name,
                "phone": p.phone,
                "birth_date": _iso(p.birth_date),
                "nik": p.nik,
                "sex": p.sex,
                "address": p.address,
                "kelurahan": p.kelurahan,
                "rt_rw": p.rt_rw,
                "landmark": p.landmark,
                "location": (
                    {"lat": p.lat, "lon": p.lon}
                    if p.lat is not None and p.lon is not None
                    else None
                ),
                "registered_at": _iso(p.created_at),
                "updated_at": _iso(p.updated_at),
                "visits": visits_out,
                "emergency_referrals": [
                    {"at": _iso(r.at), "signs": list(r.signs), "service": r.service_type}
                    for r in referrals
                ],
            }
        )
    return {
        "account": {
            "telegram_user_id": account.telegram_user_id,
            "first_name": account.first_name,
            "username": account.username,
            "language": account.language,
            "roles": sorted({r.role for r in account.roles if r.clinic_id == clinic_id}),
            "first_contact": _iso(account.created_at),
            "last_seen": _iso(account.last_seen_at),
        },
        "consents": [
            {
                "for_patient": c.patient_id is not None,
                "version": c.text_version,
                "text_sha256": c.text_hash,
                "language": c.language,
                "given_at": _iso(c.given_at),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in consents
        ],
        "patients": patients_out,
    }


async def export_own(
    session: AsyncSession, account: Account, clinic_id: int, now: datetime
) -> dict[str, Any]:
    """/data_saya's copy: `export`, with the audit entry that the person took it."""
    data = await export(session, account, clinic_id)
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=account.id,
        actor_role="self",
        action=audit.EXPORT,
        subject=f"data_saya:account:{account.id}",
        at=now,
    )
    return data


@dataclass(frozen=True)
class DeletionReport:
    patients_removed: int  # identity removed
    patients_unlinked: int  # another caregiver still manages them: only our link revoked
    visits_cancelled: int
    visits_kept: int


def _anonymise(patient: Patient, now: datetime) -> None:
    patient.full_name = None
    patient.phone = None
    patient.birth_date = None
    patient.nik = None
    patient.sex = None
    patient.address = None
    patient.rt_rw = None
    patient.landmark = None
    patient.lat = None
    patient.lon = None
    patient.deleted_at = now
    patient.updated_at = now


async def delete_my_data(
    session: AsyncSession,
    config: Config,
    account: Account,
    clinic_id: int,
    now: datetime,
    notes: Notes | None = None,
) -> DeletionReport:
    """Carry out a deletion request (see the module doc). Call for family accounts only."""
    removed = unlinked = cancelled = kept = 0
    traces = erasure.Traces()
    erasure.gather_account(traces, account)
    visit_ids: list[int] = []
    patient_ids: list[int] = []
    for mine in await my_patients(session, account.id, clinic_id):
        patient = mine.patient
        others = await session.scalar(
            select(PatientLink.id).where(
                PatientLink.patient_id == patient.id,
                PatientLink.account_id != account.id,
                PatientLink.revoked_at.is_(None),
            )
        )
        if not mine.is_self and others is not None:
            unlinked += 1
            continue
        erasure.gather_patient(traces, patient)
        # Identity first, so even the notes queued to staff below carry no name.
        _anonymise(patient, now)
        removed += 1
        patient_ids.append(patient.id)
        visits = list(await session.scalars(select(Visit).where(Visit.patient_id == patient.id)))
        for visit in visits:
            erasure.gather_visit(traces, visit)
            visit_ids.append(visit.id)
            status = VisitStatus(visit.status)
            if can_transition(status, VisitStatus.CANCELLED_BY_PATIENT, Actor.PATIENT):
                nurse_id = visit.nurse_id
                await change_status(
                    session,
                    visit,
                    VisitStatus.CANCELLED_BY_PATIENT,
                    Actor.PATIENT,
                    account.id,
                    "deletion request",
                    now,
                )
                visit.cancel_reason = None
                await sync_visit_reminders(session, visit, config, now)
                await tell_staff(
                    session, config, visit, "cancelled", nurse_id=nurse_id, now=now, notes=notes
                )
                cancelled += 1
            else:
                kept += 1
            visit.complaint = None
        await session.execute(
            update(Feedback)
            .where(Feedback.visit_id.in_([v.id for v in visits] or [0]))
            .values(comment=None)
        )
    await session.execute(
        update(PatientLink)
        .where(PatientLink.account_id == account.id, PatientLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    # How the person named a relative ("Ibu saya") is theirs too; the link rows stay revoked.
    await session.execute(
        update(PatientLink).where(PatientLink.account_id == account.id).values(label=None)
    )
    await session.flush()
    await erasure.erase_copies(session, traces, account.id, visit_ids, patient_ids, now)
    await console_auth.forget_account(session, account.id)
    await withdraw_all(session, account.id, now)
    await session.execute(
        delete(AccountRole).where(
            AccountRole.account_id == account.id, AccountRole.role.in_(FAMILY_ROLES)
        )
    )
    await session.refresh(account, ["roles"])
    await conversation.finish_for(session, account.id)
    account.first_name = ""
    account.username = None
    account.deleted_at = now
    await session.flush()
    return DeletionReport(removed, unlinked, cancelled, kept)
