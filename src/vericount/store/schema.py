"""The case database's tables, as SQLAlchemy 2.x declarative models.

The schema is created and changed only by the migrations in ``store/migrations``; a test checks that the
migrated database matches these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = JSON().with_variant(JSONB(), "postgresql")

STATUSES = ("unreviewed", "verified", "rejected", "needs-info")
KINDS = ("image", "video", "text")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as ISO 8601 text, identical on SQLite and PostgreSQL.

    Text keeps microseconds and the offset on both back ends and sorts in time order.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class CaseInfo(Base):
    """Key/value facts about the case: its id (so a database is never shared by two cases), creation."""

    __tablename__ = "case_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Item(Base):
    """One unique piece of media, identified by the SHA-256 of its bytes."""

    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    added_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="unreviewed", index=True)
    status_note: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geo_precision_m: Mapped[float | None] = mapped_column(Float)
    geo_method: Mapped[str | None] = mapped_column(Text)
    date_from: Mapped[str | None] = mapped_column(String(40))
    date_to: Mapped[str | None] = mapped_column(String(40))
    date_method: Mapped[str | None] = mapped_column(Text)
    media_meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    names: Mapped[list[ItemName]] = relationship(
        back_populates="item", order_by="ItemName.id", cascade="all, delete-orphan"
    )
    sources: Mapped[list[Source]] = relationship(
        back_populates="item", order_by="Source.id", cascade="all, delete-orphan"
    )
    stages: Mapped[list[StageState]] = relationship(
        back_populates="item", order_by="StageState.stage", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 - SQLAlchemy's own convention


class ItemName(Base):
    """A file name (and the path it was read from) under which the item's bytes were seen."""

    __tablename__ = "item_names"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text, index=True)
    path: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_by: Mapped[str] = mapped_column(String(200))

    item: Mapped[Item] = relationship(back_populates="names")
    __table_args__ = (UniqueConstraint("item_id", "path", name="uq_item_names_item_path"),)


class Source(Base):
    """Where an item was found: URL, platform, account, posted time, notes."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(200))

    item: Mapped[Item] = relationship(back_populates="sources")


class Attachment(Base):
    """A file kept as evidence with an item, not counted as media: the sidecar a download tool wrote, and
    what a capture keeps of the page (its web archive, a screenshot, the site's TLS certificates). Its bytes
    sit in the evidence store under their SHA-256, read-only, as originals do."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # attachments.ROLES
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)  # the page it was made from, for a capture
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("item_id", "role", "sha256", name="uq_attachments_item_role_sha"),)


class StageState(Base):
    """Where one stage stands on one item: pending/done/failed, with the version and parameters used."""

    __tablename__ = "stage_states"
    item_id: Mapped[str] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    params_hash: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seconds: Mapped[float | None] = mapped_column(Float)

    item: Mapped[Item] = relationship(back_populates="stages")
    __table_args__ = (Index("ix_stage_states_stage_status", "stage", "status"),)


class AuditEvent(Base):
    """One entry of the append-only custody log. ``hash`` chains each entry to the one before it."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    item_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    tool_version: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class FingerprintRow(Base):
    """The reposts stage's fingerprint of one item (PDQ per sampled frame, ORB per keyframe), as npz."""

    __tablename__ = "fingerprints"
    item_id: Mapped[str] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    duration: Mapped[float] = mapped_column(Float)
    decoded: Mapped[int] = mapped_column(Integer)  # frames decoded
    frames: Mapped[int] = mapped_column(Integer)  # frames sampled and hashed
    dropped: Mapped[int] = mapped_column(Integer)  # of which too flat to match
    shots: Mapped[int] = mapped_column(Integer)
    min_quality: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    matched: Mapped[str | None] = mapped_column(String(64))  # hash of the matcher settings used

    # covers "which items are not matched yet" without reading the blobs
    __table_args__ = (Index("ix_fingerprints_matched", "matched", "item_id"),)


class Match(Base):
    """Two items that share footage: found by the matcher, or decided by a person.

    Oriented: for ``excerpt`` and ``frame_of``, ``a`` lies inside ``b``. One row per unordered pair.
    """

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    a: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    b: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), index=True)  # confirmed | suggested | rejected
    decided_by: Mapped[str | None] = mapped_column(String(200))  # a person; None: the matcher
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    a_start: Mapped[float | None] = mapped_column(Float)
    a_end: Mapped[float | None] = mapped_column(Float)
    b_start: Mapped[float | None] = mapped_column(Float)
    b_end: Mapped[float | None] = mapped_column(Float)
    a_cover: Mapped[float | None] = mapped_column(Float)
    b_cover: Mapped[float | None] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)
    found: Mapped[bool] = mapped_column(Boolean)  # the matcher found it (else only a person said so)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("a", "b", name="uq_matches_a_b"),)


class PeopleItem(Base):
    """The people stage's summary of one item."""

    __tablename__ = "people_items"
    item_id: Mapped[str] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    frames: Mapped[int] = mapped_column(Integer)  # frames sampled and looked at
    shots: Mapped[int] = mapped_column(Integer)
    detector: Mapped[str] = mapped_column(String(200))
    detections: Mapped[int] = mapped_column(Integer)


class AddedModel(Base):
    """A person detector a user added to the case (``vericount models add``). Its file is kept under
    CASE/models/ by its SHA-256, read-only, as originals are; tracks name it ``NAME@SHA256[:12]``."""

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(40))  # person detector
    sha256: Mapped[str] = mapped_column(String(64))
    layout: Mapped[str] = mapped_column(String(40))  # yolov8 | yolov5 | rtdetr-ultralytics | rtdetr
    input_size: Mapped[int] = mapped_column(Integer)  # the model's square input, pixels
    classes: Mapped[str] = mapped_column(Text)  # what its classes are, in words
    person_class: Mapped[int] = mapped_column(Integer)  # the class index that is a person
    licence: Mapped[str] = mapped_column(Text)  # as the user stated it
    file_name: Mapped[str] = mapped_column(Text)  # the file it was added from
    size: Mapped[int] = mapped_column(BigInteger)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("name", name="uq_models_name"),
                      UniqueConstraint("sha256", name="uq_models_sha256"))


class PersonTrack(Base):
    """One person followed through one shot of one item (or marked by a reviewer on one frame).

    ``boxes`` is every sighting, ``[t, x0, y0, x1, y1, score]`` in pixels of the upright frame as sampled
    (``frame_width`` x ``frame_height``). Crops are files under the case's derived/ folder.
    """

    __tablename__ = "tracks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # detector | mark
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    frame_width: Mapped[int] = mapped_column(Integer)
    frame_height: Mapped[int] = mapped_column(Integer)
    boxes: Mapped[list[Any]] = mapped_column(JSONType)
    best_t: Mapped[float] = mapped_column(Float)
    best_box: Mapped[list[Any]] = mapped_column(JSONType)
    crop: Mapped[str | None] = mapped_column(Text)
    face_t: Mapped[float | None] = mapped_column(Float)
    face_box: Mapped[list[Any] | None] = mapped_column(JSONType)
    face_size: Mapped[int | None] = mapped_column(Integer)
    face_sharpness: Mapped[float | None] = mapped_column(Float)
    face: Mapped[str | None] = mapped_column(Text)
    face_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    marked_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The models that made it: "nanodet-m-416+ssd-mobilenetv2-coco", "yolo11s@1a2b3c4d5e6f" (an added model:
    # name@sha256[:12]), "+centerface" when a face stood for a person box; null for a mark.
    detector: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)  # a calibrated probability that it is a person

    __table_args__ = (UniqueConstraint("item_id", "number", name="uq_tracks_item_number"),)


class TrackNumbers(Base):
    """The highest track number issued for an item. Numbers are never reused: ``item:number`` always
    means the same track, so a judgment or a certificate can never come to name another person."""

    __tablename__ = "track_numbers"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    issued: Mapped[int] = mapped_column(Integer)


class Judgment(Base):
    """A person's judgment that two tracks show the same person, different people, or that they can't tell.

    The pair is stored in a fixed order (item id, then track number). The tracks' time spans when judged
    are kept: a judgment whose track was later recomputed into something else is stale and not used.
    An undone judgment stays in the table, marked, as everything in the audit log does."""

    __tablename__ = "judgments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    a_item: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    a_number: Mapped[int] = mapped_column(Integer)
    b_item: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    b_number: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))  # same | different | cant_tell
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    a_span: Mapped[list[Any]] = mapped_column(JSONType)  # [start, end] of track a when judged
    b_span: Mapped[list[Any]] = mapped_column(JSONType)
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TrackReview(Base):
    """A reviewer's decision on one track: it shows one real person (``person``), or it does not
    (``not_person``: a coat, a poster, a reflection; with the reason). Only tracks a reviewer confirmed are
    members of a certified count. Reviews made in one action (a page confirmed at once) share ``action``
    (the id of the first of them). The newest review of a track that is not undone stands."""

    __tablename__ = "track_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))  # person | not_person
    reason: Mapped[str | None] = mapped_column(Text)
    action: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_track_reviews_track", "item_id", "number"),)


class GroupJudgment(Base):
    """A reviewer's judgment on sets of tracks, in one action. ``different``: every track in ``a`` shows a
    different person from every track in ``b`` (``b`` empty: the tracks of ``a`` are all different people);
    ``same``: the tracks of ``a`` are all one person. Tracks as ``ITEM:NUMBER`` (numbers are never reused)."""

    __tablename__ = "group_judgments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verdict: Mapped[str] = mapped_column(String(16))  # different | same
    a: Mapped[list[Any]] = mapped_column(JSONType)
    b: Mapped[list[Any]] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TallyRow(Base):
    """One computed tally: the three numbers, how they were computed, and the whole result (certificate,
    suggestions) as JSON. Kept for the tally's history."""

    __tablename__ = "tallies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(200))
    at_least: Mapped[int | None] = mapped_column(Integer)  # certified
    proposed: Mapped[int | None] = mapped_column(Integer)  # if the machine's open proposals held
    estimate: Mapped[int] = mapped_column(Integer)
    at_most: Mapped[int] = mapped_column(Integer)
    optimal: Mapped[bool] = mapped_column(Boolean)
    scope: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ReportText(Base):
    """The claims stage's reading of a text item (a news report): language, sentences, and the verification
    statements it makes without a number ("X could not independently verify the footage")."""

    __tablename__ = "reports"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))  # en | other
    chars: Mapped[int] = mapped_column(Integer)
    sentences: Mapped[int] = mapped_column(Integer)
    hedges: Mapped[list[Any]] = mapped_column(JSONType)


class ClaimRow(Base):
    """One quantitative claim in a report, or in an item's caption, on-screen text or speech (see
    claims/extract.py for each field; claims/said.py for the claims of captions and lines)."""

    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    qualifier: Mapped[str] = mapped_column(String(16))
    vague: Mapped[str | None] = mapped_column(String(32))
    quantity: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    subject_key: Mapped[str] = mapped_column(Text, index=True)
    event: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(Text)
    via: Mapped[list[Any]] = mapped_column(JSONType)
    hedges: Mapped[list[Any]] = mapped_column(JSONType)
    sentence: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(16), default="report", server_default="report")  # see said.py
    at: Mapped[float | None] = mapped_column(Float)  # seconds into the item, for a line of a video


class User(Base):
    """A desk user (``vericount user add``): a role, a scrypt password hash, and per-user settings
    (greyscale, blur)."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | reviewer | admin
    password: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSession(Base):
    """A signed-in browser: the SHA-256 of its cookie's random token (the token itself is never stored)
    and the CSRF token its forms carry."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Tag(Base):
    __tablename__ = "tags"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class TextLine(Base):
    """A line of text found in an item: on screen (the ``ocr`` stage) or said (the ``speech`` stage), with
    where and when. A machine's reading, with its confidence; a reviewer may mark a line relevant (the
    report quotes only marked lines)."""

    __tablename__ = "text_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ocr | speech
    start: Mapped[float | None] = mapped_column(Float)  # seconds; None for an image
    end: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)  # 0..1
    box: Mapped[list[float] | None] = mapped_column(JSONType)  # x, y, w, h as fractions of the frame (ocr)
    marked_by: Mapped[str | None] = mapped_column(String(200))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_text_lines_item_kind", "item_id", "kind"),)


class SourceHint(Base):
    """A source proposed from what an item shows: a channel handle, a link or a platform's watermark read
    on screen. A proposal until a reviewer accepts it (it becomes a source) or rejects it."""

    __tablename__ = "source_hints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # handle | link | watermark
    value: Mapped[str] = mapped_column(Text)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("item_id", "kind", "value", name="uq_source_hints_item_kind_value"),)


class SearchEntry(Base):
    """What ``vericount search`` looks through, one row per searchable text: on-screen lines, transcripts,
    captions from sources, notes, claims. ``norm`` is the text folded for search (lower case, ё as е); the
    full-text index over it is SQLite's FTS5 or PostgreSQL's tsvector (search.py)."""

    __tablename__ = "search_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # ocr | speech | caption | note | claim
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    ref: Mapped[int] = mapped_column(Integer)  # the row's id in its own table
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    body: Mapped[str] = mapped_column(Text)
    norm: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_search_entries_kind_ref", "kind", "ref"),)


class SignInThrottle(Base):
    """Failed desk sign-ins counted per account name ("user:NAME") and per client address
    ("address:IP"), with the lock-out they earned (desk/guard.py). Forgotten a day after the last failure;
    a sign-in that succeeds clears its name's row. Never exported (addresses are personal data)."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)  # of them, by names that are no account
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
