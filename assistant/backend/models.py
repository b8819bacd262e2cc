"""Tables owned by the scheduling backend (SQLAlchemy 1.4, 2.0-style ORM)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base = declarative_base()

# Consults in these states hold their slot. The partial unique index below is
# what guarantees, in the database itself, that no slot is ever booked twice.
SLOT_HOLDING_STATUSES = ("scheduled", "completed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and always returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Facility(Base):
    __tablename__ = "facilities"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(32), nullable=False)  # hub, district_hospital, chc, phc, hwc, sub_centre
    district = Column(String(100), nullable=False)
    parent_id = Column(String(64), ForeignKey("facilities.id"), nullable=True)


class Worker(Base):
    __tablename__ = "workers"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False)
    role = Column(String(16), nullable=False)
    designation = Column(String(64), nullable=True)  # ASHA, ANM, CHO, ...
    phone = Column(String(32), nullable=True)
    active = Column(Boolean, nullable=False, default=True)

    facility = relationship(Facility, lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    role = Column(String(16), nullable=False)
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=True)
    label = Column(String(100), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime, nullable=True)


class Specialist(Base):
    __tablename__ = "specialists"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    specialty = Column(String(64), nullable=False, index=True)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False)
    upn = Column(String(200), nullable=False, unique=True)
    on_call = Column(Boolean, nullable=False, default=False)


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("specialist_id", "starts_at", name="uq_slot_specialist_start"),)
    id = Column(Integer, primary_key=True)
    specialist_id = Column(Integer, ForeignKey("specialists.id"), nullable=False)
    starts_at = Column(UTCDateTime, nullable=False, index=True)
    ends_at = Column(UTCDateTime, nullable=False)

    specialist = relationship(Specialist, lazy="joined")


class Consult(Base):
    __tablename__ = "consults"
    id = Column(Integer, primary_key=True)
    patient_ref = Column(String(64), nullable=False, index=True)
    specialty = Column(String(64), nullable=False)
    urgency = Column(String(16), nullable=False)
    reason = Column(Text, nullable=True)
    status = Column(String(16), nullable=False, index=True)
    requested_by = Column(String(64), ForeignKey("workers.id"), nullable=False, index=True)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False, index=True)
    slot_id = Column(Integer, ForeignKey("slots.id"), nullable=True)
    specialist_id = Column(Integer, ForeignKey("specialists.id"), nullable=True)
    scheduled_for = Column(UTCDateTime, nullable=True)
    call_link = Column(String(300), nullable=True)
    hub_queue = Column(Boolean, nullable=False, default=False)
    channel = Column(String(16), nullable=False, default="api")
    conversation_id = Column(String(128), nullable=True, index=True)
    cancel_reason = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    cancelled_at = Column(UTCDateTime, nullable=True)

    specialist = relationship(Specialist, lazy="joined")


Index(
    "uq_consult_active_slot",
    Consult.slot_id,
    unique=True,
    sqlite_where=Consult.status.in_(SLOT_HOLDING_STATUSES),
    postgresql_where=Consult.status.in_(SLOT_HOLDING_STATUSES),
)


class Encounter(Base):
    __tablename__ = "encounters"
    id = Column(Integer, primary_key=True)
    patient_ref = Column(String(64), nullable=False, index=True)
    age_years = Column(Float, nullable=True)
    sex = Column(String(8), nullable=True)
    complaint = Column(Text, nullable=True)
    systolic_bp = Column(Integer, nullable=True)
    diastolic_bp = Column(Integer, nullable=True)
    temperature_c = Column(Float, nullable=True)
    pulse = Column(Integer, nullable=True)
    spo2 = Column(Integer, nullable=True)
    weight_kg = Column(Float, nullable=True)
    respiratory_rate = Column(Integer, nullable=True)
    notes = Column(Text, nullable=True)
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=False, index=True)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="api")
    conversation_id = Column(String(128), nullable=True, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Checklist(Base):
    __tablename__ = "checklists"
    slug = Column(String(64), primary_key=True)
    title_en = Column(String(200), nullable=False)
    title_hi = Column(String(200), nullable=False)
    source_guideline = Column(Text, nullable=False)
    source_publisher = Column(String(200), nullable=False)
    source_year = Column(Integer, nullable=True)
    source_url = Column(String(500), nullable=True)

    steps = relationship("ChecklistStep", order_by="ChecklistStep.number", lazy="selectin", cascade="all, delete-orphan")


class ChecklistStep(Base):
    __tablename__ = "checklist_steps"
    __table_args__ = (UniqueConstraint("checklist_slug", "number", name="uq_step_number"),)
    id = Column(Integer, primary_key=True)
    checklist_slug = Column(String(64), ForeignKey("checklists.slug"), nullable=False)
    number = Column(Integer, nullable=False)
    text_en = Column(Text, nullable=False)
    text_hi = Column(Text, nullable=False)
    caution = Column(Boolean, nullable=False, default=False)


class IdempotencyRecord(Base):
    """A POST's stored result, replayed when the same key comes again."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)
    id = Column(Integer, primary_key=True)
    scope = Column(String(128), nullable=False)
    key = Column(String(200), nullable=False)
    request_hash = Column(String(64), nullable=False)
    status_code = Column(Integer, nullable=True)
    response = Column(JSON, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
