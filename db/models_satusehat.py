"""Tables of the SATUSEHAT submission (db/services/satusehat.py, satusehat_runs.py).

`satusehat_sent`: one row per visit SATUSEHAT accepted, with the Encounter id it gave; the
daily run sends only completed visits without a row, so nothing goes twice and a failed day
is simply still unsent the next run. `satusehat_runs`: one row per attempt (counts and a
reason code), for the console's report page. Neither holds names, NIKs or clinical values.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime, utcnow


class SatusehatSent(Base):
    __tablename__ = "satusehat_sent"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    encounter_id: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SatusehatRun(Base):
    __tablename__ = "satusehat_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # daily | manual
    ok: Mapped[bool] = mapped_column(default=False)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)  # visits in a bundle not taken
    no_nik: Mapped[int] = mapped_column(Integer, default=0)
    unknown_patient: Mapped[int] = mapped_column(Integer, default=0)
    no_practitioner: Mapped[int] = mapped_column(Integer, default=0)
    # unavailable | refused | credentials (failures); None when it went through
    reason: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(String(300))  # SATUSEHAT's first issue

    @property
    def left_out(self) -> int:
        return self.no_nik + self.unknown_patient + self.no_practitioner
