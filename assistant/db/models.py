"""The backend database's tables: facilities, people, tokens, slots, records, checklists.

Every table of this database is declared here (SQLAlchemy 1.4, 2.0-style
ORM), so ``Base.metadata`` is the whole schema, whoever imports it first.
The console keeps its own tables in the same database under a metadata of
its own (``assistant.db.console_tables``).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

from assistant.core.rules import CONVERSATION_ID_LIMIT, MAX_REF, SLOT_HOLDING_STATUSES, TASK_TEXT_LIMIT
from assistant.db.naming import named_metadata
from assistant.db.types import UTCDateTime, utcnow

_tables = registry(metadata=named_metadata())


class Base(metaclass=DeclarativeMeta):
    """The declarative base of this database's tables (SQLAlchemy 1.4's explicit form, which type checkers read)."""

    __abstract__ = True
    registry = _tables
    metadata = _tables.metadata
    __init__ = _tables.constructor


__all__ = ["Base", "UTCDateTime", "utcnow"]  # the column types, for the tables' users


class Facility(Base):
    __tablename__ = "facilities"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(32), nullable=False)  # assistant.core.vocabulary.FACILITY_KINDS
    district = Column(String(100), nullable=False)
    parent_id = Column(String(64), ForeignKey("facilities.id"), nullable=True)
    # The hub this facility names as its own (and so of the facilities under it that name none).
    hub_id = Column(String(64), ForeignKey("facilities.id"), nullable=True)
    # The hub that serves it, resolved from hub_id and the parents (a hub serves itself); None: no hub.
    # Kept by assistant.domain.facilities.resolve_served_by whenever facilities change, so that
    # booking and scoping find a hub's facilities and specialists in one indexed lookup.
    served_by = Column(String(64), ForeignKey("facilities.id"), nullable=True, index=True)


class Worker(Base):
    __tablename__ = "workers"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False, index=True)
    role = Column(String(16), nullable=False)
    designation = Column(String(64), nullable=True)  # ASHA, ANM, CHO, ...
    phone = Column(String(32), nullable=True)
    # The language they were registered with (assistant.core.vocabulary.LANGUAGES); None: not said.
    # Stored for the programme's records; the assistant still follows the language each turn is said in.
    language = Column(String(8), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    # A specialist's login: the specialist record whose consults they see.
    specialist_id = Column(Integer, ForeignKey("specialists.id"), nullable=True, index=True)

    facility = relationship(Facility, lazy="joined", foreign_keys=[facility_id])


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    role = Column(String(16), nullable=False)
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=True)
    label = Column(String(100), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=True)  # None: until revoked
    revoked_at = Column(UTCDateTime, nullable=True)


class Specialist(Base):
    __tablename__ = "specialists"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    specialty = Column(String(64), nullable=False, index=True)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False)
    upn = Column(String(200), nullable=False, unique=True)
    on_call = Column(Boolean, nullable=False, default=False)


class Availability(Base):
    """A specialist's recurring weekly hours, cut into slots ``SLOT_WINDOW_DAYS`` ahead (local time)."""

    __tablename__ = "availability"
    id = Column(Integer, primary_key=True)
    specialist_id = Column(Integer, ForeignKey("specialists.id"), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)  # 0 Monday ... 6 Sunday
    start_time = Column(String(5), nullable=False)  # "HH:MM", local
    end_time = Column(String(5), nullable=False)
    slot_minutes = Column(Integer, nullable=False, default=30)
    created_by = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("specialist_id", "starts_at", name="uq_slot_specialist_start"),)
    id = Column(Integer, primary_key=True)
    specialist_id = Column(Integer, ForeignKey("specialists.id"), nullable=False)
    starts_at = Column(UTCDateTime, nullable=False, index=True)
    ends_at = Column(UTCDateTime, nullable=False)
    # The weekly hours this slot was cut from; None for a single slot added by hand.
    availability_id = Column(Integer, ForeignKey("availability.id"), nullable=True, index=True)

    specialist = relationship(Specialist, lazy="joined")


class Consult(Base):
    __tablename__ = "consults"
    id = Column(Integer, primary_key=True)
    patient_ref = Column(String(MAX_REF), nullable=False, index=True)
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
    # The hub whose desk handles it: the one serving the requesting facility, or the one it was referred to.
    hub_id = Column(String(64), ForeignKey("facilities.id"), nullable=True, index=True)
    queue_reason = Column(String(16), nullable=True)  # why it waits: assistant.core.vocabulary.QUEUE_REASONS
    referred_from = Column(String(64), nullable=True)  # the hub that referred it here, ...
    referral_reason = Column(Text, nullable=True)  # ... why, in the coordinator's words, ...
    referred_by = Column(String(64), nullable=True)  # ... who, ...
    referred_at = Column(UTCDateTime, nullable=True)  # ... and when
    channel = Column(String(16), nullable=False, default="api")
    conversation_id = Column(String(CONVERSATION_ID_LIMIT), nullable=True, index=True)
    cancel_reason = Column(Text, nullable=True)
    cancelled_by = Column(String(64), nullable=True)  # who cancelled: the worker, or a coordinator
    # The specialist's words, stored as written and relayed as theirs.
    specialist_advice = Column(Text, nullable=True)
    follow_up = Column(Text, nullable=True)
    closed_by = Column(String(64), nullable=True)  # who completed it or marked the no-show
    closed_at = Column(UTCDateTime, nullable=True)
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


class HubNotice(Base):
    """The worker outbox: what the hub did to a consult, to be told to the worker who asked, exactly once.

    Written in the same transaction as the change it tells of. A channel marks
    it delivered once the message is durably on its way (in the worker's
    conversation, or queued for WhatsApp/Twilio); see docs/contracts.md.
    """

    __tablename__ = "hub_notices"
    id = Column(Integer, primary_key=True)
    # The consult it tells of; None for a reminder of a task the worker added themselves.
    consult_id = Column(Integer, ForeignKey("consults.id"), nullable=True, index=True)
    # The follow-up task a ``task_due`` reminder is of (issue 28).
    task_id = Column(Integer, ForeignKey("tasks.id"), nullable=True, index=True)
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=False, index=True)
    event = Column(String(16), nullable=False)  # assistant.core.vocabulary.NOTICE_EVENTS
    channel = Column(String(16), nullable=False)  # where the worker is told: where they asked, or were last heard
    text_en = Column(Text, nullable=False)
    text_hi = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivered_at = Column(UTCDateTime, nullable=True, index=True)
    delivered_via = Column(String(16), nullable=True)


class Task(Base):
    """A follow-up the worker owes a patient: from a specialist's completed consult, or added by the worker.

    ``state`` moves ``open -> done | cancelled`` by one conditional UPDATE
    (``assistant.domain.tasks``); overdue means open and past ``due_on``, the
    clinic's local date. ``reminded_count`` and ``last_reminded_on`` are
    written in the transaction that writes the reminder's notice, so a
    reminder job run twice, or by a restarted backend, never reminds twice
    (``assistant.domain.task_reminders``).
    """

    __tablename__ = "tasks"
    id = Column(Integer, primary_key=True)
    what = Column(String(TASK_TEXT_LIMIT), nullable=False)
    patient_ref = Column(String(MAX_REF), nullable=False, index=True)
    due_on = Column(Date, nullable=False, index=True)
    consult_id = Column(Integer, ForeignKey("consults.id"), nullable=True, index=True)
    checklist = Column(String(64), nullable=True)  # the slug of a checklist the task needs, offered with it
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=False, index=True)
    facility_id = Column(String(64), ForeignKey("facilities.id"), nullable=False, index=True)
    state = Column(String(16), nullable=False, default="open", index=True)  # rules.TASK_STATES
    channel = Column(String(16), nullable=False)  # where it was made for the worker: the consult's, or theirs
    created_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    closed_by = Column(String(64), nullable=True)
    done_at = Column(UTCDateTime, nullable=True)
    cancelled_at = Column(UTCDateTime, nullable=True)
    encounter_id = Column(Integer, ForeignKey("encounters.id"), nullable=True)
    reminded_count = Column(Integer, nullable=False, default=0)
    last_reminded_on = Column(Date, nullable=True)


class Encounter(Base):
    __tablename__ = "encounters"
    id = Column(Integer, primary_key=True)
    patient_ref = Column(String(MAX_REF), nullable=False, index=True)
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
    conversation_id = Column(String(CONVERSATION_ID_LIMIT), nullable=True, index=True)
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

    steps = relationship(
        "ChecklistStep", order_by="ChecklistStep.number", lazy="selectin", cascade="all, delete-orphan"
    )


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


class WorkerPin(Base):
    __tablename__ = "worker_pins"
    worker_id = Column(String(64), ForeignKey("workers.id"), primary_key=True)
    pin_hash = Column(String(200), nullable=False)
    failed_attempts = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime, nullable=True)
    issued_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime, nullable=True)


class WorkerChannelId(Base):
    """A messaging identity that is not a phone number (WhatsApp's business-scoped user id)."""

    __tablename__ = "worker_channel_ids"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_worker_channel_external"),)
    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    external_id = Column(String(128), nullable=False)
    worker_id = Column(String(64), ForeignKey("workers.id"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Programme(Base):
    """Present once ``assistant init`` made this database a real programme's: the demo is never loaded into it.

    A row here, not a file beside the database, so that it travels with the
    database in a backup and holds on PostgreSQL, where no data dir is shared.
    """

    __tablename__ = "programme"
    id = Column(Integer, primary_key=True)  # always 1: one programme per database
    initialised_at = Column(UTCDateTime, nullable=False, default=utcnow)
    initialised_by = Column(String(64), nullable=False)  # the operating-system user who ran it
    first_admin = Column(String(64), nullable=False)
