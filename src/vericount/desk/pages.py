"""What each desk page shows, read from the case through the same library the CLI uses."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from sqlalchemy import exists, func, or_, select

from vericount.case import Case
from vericount.errors import InvalidValue
from vericount.people.score import DOUBTFUL
from vericount.store import schema
from vericount.store.schema import (
    KINDS,
    AuditEvent,
    ClaimRow,
    Item,
    ItemName,
    Note,
    PersonTrack,
    ReportText,
    Source,
    Tag,
    TallyRow,
)

PAGE = 50
STATUSES = schema.STATUSES
SORTS = {"added": Item.added_at, "status": Item.status, "kind": Item.kind, "size": Item.size}
RECOMPUTE_TRACKS = 3000  # at most this many tracks: a judgment or a mark recomputes the tally at once
MAX_PAGE = 1_000_000  # a page number past this is refused (50 million items is more than any case)


def latest_tally(case: Case) -> dict[str, Any] | None:
    with case.reading() as s:
        row = s.scalars(select(TallyRow).order_by(TallyRow.id.desc()).limit(1)).first()
        return dict(row.result) if row is not None else None


def recompute_if_cheap(case: Case) -> None:
    with case.reading() as s:  # whether there are more than RECOMPUTE_TRACKS, without counting them all
        more = s.scalar(select(PersonTrack.id).order_by(PersonTrack.id).offset(RECOMPUTE_TRACKS).limit(1))
    if more is None:
        from vericount.tally.service import tally

        tally(case)


def repost_groups(case: Case) -> dict[str, str]:
    """Each item in a repost group -> the group's representative."""
    from vericount.reposts.service import membership

    with case.reading() as s:
        return membership(s)


def dashboard(case: Case, query: dict[str, str]) -> dict[str, Any]:
    from vericount.summary import summarise
    from vericount.tally.service import history

    summary = summarise(case, max_failures=10)
    groups = repost_groups(case)
    sizes: dict[str, int] = {}
    for g in groups.values():
        sizes[g] = sizes.get(g, 0) + 1
    with case.reading() as s:
        recent = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(15)).all()
        recent_rows = [_event(e) for e in recent]
    latest = latest_tally(case)
    return {"summary": summary, "groups": sorted(sizes.items(), key=lambda kv: -kv[1])[:10],
            "tally": latest, "history": history(case, limit=10), "recent": recent_rows,
            "claims": _compare(case, latest)}


def _compare(case: Case, latest: dict[str, Any] | None) -> list[dict[str, Any]]:
    from vericount.claims.service import compare

    if latest is None:
        return []
    return compare(case, latest)


def _event(e: AuditEvent) -> dict[str, Any]:
    detail = {k: v for k, v in (e.detail or {}).items() if k != "before"}
    return {"id": e.id, "at": e.at.isoformat(timespec="seconds"), "actor": e.actor, "action": e.action,
            "item": e.item_id, "detail": detail}


def _page(query: dict[str, str]) -> int:
    """The page number asked for: a whole number from 1 to MAX_PAGE, else refused with a plain message."""
    text = query.get("page", "1").strip() or "1"
    if not (text.isascii() and text.isdigit() and len(text) <= 7 and 1 <= int(text) <= MAX_PAGE):
        raise InvalidValue(f"page {text[:20]!r}: a whole number from 1 to {MAX_PAGE:,} is expected")
    return int(text)


COUNT_CAP = 5_000  # a filtered list counts its matches up to here ("5,000+ found"), or to the page shown


def items_page(case: Case, query: dict[str, str]) -> dict[str, Any]:
    """One page of items, filtered (status, kind, repost group, date, tag, has people) and sorted."""
    q = select(Item)
    status, kind, tag = query.get("status", ""), query.get("kind", ""), query.get("tag", "").strip()
    if status:
        q = q.where(Item.status == status)
    if kind:
        q = q.where(Item.kind == kind)
    if tag:
        q = q.where(exists().where(Tag.item_id == Item.id, Tag.tag == tag))
    people = query.get("people", "")
    has_people = exists().where(PersonTrack.item_id == Item.id)
    if people == "yes":
        q = q.where(has_people)
    elif people == "no":
        q = q.where(~has_people)
    if query.get("group"):
        groups = repost_groups(case)
        wanted = groups.get(query["group"], query["group"])
        q = q.where(Item.id.in_([i for i, g in groups.items() if g == wanted] or [query["group"]]))
    date_from, date_to = query.get("from", "").strip(), query.get("to", "").strip()
    if date_from:  # the item's own date when known, else when it was posted
        posted = exists().where(Source.item_id == Item.id, Source.posted_at >= date_from)
        q = q.where(or_(Item.date_to >= date_from, Item.date_from >= date_from, posted))
    if date_to:
        posted = exists().where(Source.item_id == Item.id, Source.posted_at <= date_to + "\uffff")
        q = q.where(or_(Item.date_from <= date_to + "\uffff", posted))
    sort = query.get("sort", "added")
    column = SORTS.get(sort.lstrip("-"), Item.added_at)
    order = column.desc() if sort.startswith("-") else column.asc()
    page = _page(query)
    with case.reading() as s:
        # a filter's matches are counted up to a cap: "has people" over 100,000 items is a semi-join per item
        counted = q if q.whereclause is None else q.limit(max(COUNT_CAP, page * PAGE) + 1)
        total = s.scalar(select(func.count()).select_from(counted.subquery())) or 0
        more = q.whereclause is not None and total > max(COUNT_CAP, page * PAGE)
        rows = s.scalars(q.order_by(order, Item.id).offset((page - 1) * PAGE).limit(PAGE)).all()
        ids = [r.id for r in rows]
        names = _names(s, ids)
        tracks = dict(s.execute(select(PersonTrack.item_id, func.count()).where(PersonTrack.item_id.in_(ids))
                                .group_by(PersonTrack.item_id)).all()) if ids else {}
        tags: dict[str, list[str]] = {}
        for item_id, t in s.execute(select(Tag.item_id, Tag.tag).where(Tag.item_id.in_(ids))) if ids else []:
            tags.setdefault(item_id, []).append(t)
        listed = [{"id": r.id, "name": names.get(r.id, r.id[:12]), "kind": r.kind, "status": r.status,
                   "size": r.size, "added_at": r.added_at.isoformat(timespec="seconds"),
                   "tracks": tracks.get(r.id, 0), "tags": sorted(tags.get(r.id, []))} for r in rows]
    total -= more  # the one past the cap
    pages = max(1, math.ceil(total / PAGE)) + more
    keep = {k: v for k, v in query.items() if k != "page" and v}
    return {"items": listed, "total": total, "more": more, "page": page, "pages": pages, "query": keep,
            "statuses": STATUSES, "kinds": list(KINDS), "sorts": list(SORTS)}  # not a DISTINCT: a scan


def _names(s: Any, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if ids:
        query = select(ItemName.item_id, ItemName.name).where(ItemName.item_id.in_(ids))
        for item_id, name in s.execute(query.order_by(ItemName.id)):
            out.setdefault(item_id, name)
    return out


def neighbours(s: Any, item: Item) -> tuple[str | None, str | None]:
    """The items before and after this one in the list's default order (added time, then id): j / k.
    Each is two lookups on the added-time index (the same time with a nearer id, else the nearest time):
    one query with an OR of the two would scan the table."""
    at = Item.added_at == item.added_at
    before = s.scalar(select(Item.id).where(at, Item.id < item.id).order_by(Item.id.desc()).limit(1)) or \
        s.scalar(select(Item.id).where(Item.added_at < item.added_at)
                 .order_by(Item.added_at.desc(), Item.id.desc()).limit(1))
    after = s.scalar(select(Item.id).where(at, Item.id > item.id).order_by(Item.id).limit(1)) or \
        s.scalar(select(Item.id).where(Item.added_at > item.added_at).order_by(Item.added_at, Item.id)
                 .limit(1))
    return before, after


def item_page(case: Case, item_id: str, query: dict[str, str]) -> dict[str, Any]:
    from vericount.attachments import of_item
    from vericount.items import view
    from vericount.media.c2pa import summary_lines
    from vericount.reposts.service import matches_of

    with case.reading() as s:
        item = s.get(Item, item_id)
        if item is None:
            raise InvalidValue(f"no item {item_id[:12]}")
        shown = view(item)
        revision = item.revision
        decided = {r.number: r.verdict for r in s.scalars(
            select(schema.TrackReview).where(schema.TrackReview.item_id == item_id,
                                             schema.TrackReview.undone_at.is_(None))
            .order_by(schema.TrackReview.id))}
        tracks = [{"number": t.number, "source": t.source, "start": t.start, "end": t.end,
                   "width": t.frame_width, "height": t.frame_height, "boxes": t.boxes, "crop": t.crop,
                   "face": t.face, "marked_by": t.marked_by,
                   "decision": "mark" if t.source == "mark" else decided.get(t.number, "open")}
                  for t in s.scalars(select(PersonTrack).where(PersonTrack.item_id == item_id)
                                     .order_by(PersonTrack.number))]
        tags = sorted(s.scalars(select(Tag.tag).where(Tag.item_id == item_id)))
        notes = [{"text": n.text, "by": n.by, "at": n.at.isoformat(timespec="seconds")}
                 for n in s.scalars(select(Note).where(Note.item_id == item_id).order_by(Note.id))]
        history = [_event(e) for e in s.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id)
                                                 .order_by(AuditEvent.id.desc()).limit(100))]
        report = s.get(ReportText, item_id)
        kept = [asdict(k) for k in of_item(s, item_id)]
        line = schema.TextLine
        lines = [{"id": r.id, "kind": r.kind, "start": r.start, "end": r.end, "text": r.text, "lang": r.lang,
                  "confidence": r.confidence, "marked_by": r.marked_by}
                 for r in s.scalars(select(line).where(line.item_id == item_id)
                                    .order_by(line.kind, line.start, line.id))]
        claims = s.scalars(select(ClaimRow).where(ClaimRow.item_id == item_id).order_by(ClaimRow.start)).all()
        claim_rows = [{"id": c.id, "quantity": c.quantity, "subject": c.subject, "speaker": c.speaker,
                       "sentence": c.sentence, "start": c.start, "end": c.end} for c in claims]
        has_report = report is not None
        title = report.title if report is not None else None
        matches = [{"other": m.b if m.a == item_id else m.a, "type": m.type, "state": m.state,
                    "score": round(m.score, 3),
                    "mine": _segment(m.a_segment if m.a == item_id else m.b_segment),
                    "theirs": _segment(m.b_segment if m.a == item_id else m.a_segment)}
                   for m in matches_of(s, item_id)]
        before, after = neighbours(s, item)
    passages = _report_passages(case, item_id, claim_rows) if has_report else []
    try:
        t = float(query.get("t", "0"))
    except ValueError:
        t = 0.0
    t = t if math.isfinite(t) and t >= 0 else 0.0  # where the page starts the video: a hint, not an error
    return {"item": shown, "revision": revision, "tracks": tracks, "tags": tags, "notes": notes,
            "history": history, "matches": matches, "before": before, "after": after, "t": t,
            "report": {"title": title} if has_report else None, "claims": claim_rows, "statuses": STATUSES,
            "passages": passages, "credentials": summary_lines(shown.metadata), "kept": kept,
            "lines": lines}


REPORT_SHOWN = 200_000  # characters of a report's text shown on its page


def _report_passages(case: Case, item_id: str, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's text (as the claims stage read it) cut into plain passages and claim sentences, so the
    page can highlight each claim's sentence where it stands."""
    from vericount.claims.stage import read_text
    from vericount.errors import VericountError

    try:
        text = read_text(case.evidence.path(item_id))[0][:REPORT_SHOWN]
    except (OSError, VericountError):
        return []
    out: list[dict[str, Any]] = []
    at = 0
    for c in sorted(claims, key=lambda c: c["start"]):
        if c["start"] < at or c["end"] > len(text):
            continue  # a second claim in the same sentence: highlighted once
        out += [{"text": text[at:c["start"]], "claim": None},
                {"text": text[c["start"]:c["end"]], "claim": c["id"]}]
        at = c["end"]
    out.append({"text": text[at:], "claim": None})
    return out


def _segment(span: list[float] | None) -> str:
    return "—" if span is None else f"{span[0]:.2f}–{span[1]:.2f} s"


FLIPS = {"not_person": "not a person", "twice": "the same person boxed twice"}  # a crop flipped on a page


def people(case: Case, query: dict[str, str]) -> dict[str, Any]:
    """The latest tally's proposals, best first, with one of them open (``p``: its rank; ``item``: that
    item's open tracks instead) as a page of crops to confirm at once; then the estimate's identities, the
    pair suggestions, and the recent decisions with their undo."""
    from vericount.tally.reviews import list_groups, seen_ids
    from vericount.tally.service import list_judgments

    latest = latest_tally(case)
    proposals = list((latest or {}).get("proposals") or [])
    focus: dict[str, Any] | None = None
    if query.get("item"):
        focus = _item_proposal(case, query["item"])
    elif proposals:
        rank = query.get("p", "1")
        if not (rank.isascii() and rank.isdigit() and 1 <= int(rank) <= len(proposals)):
            raise InvalidValue(f"p {rank[:20]!r}: a proposal's rank from 1 to {len(proposals)} is expected")
        focus = _opened(proposals[int(rank) - 1])
    refs: set[str] = set()
    for p in proposals:
        refs |= set(p["tracks"][:6])
    if focus is not None:
        refs |= set(focus["page"]) | set(focus["against"])
    suggestions = (latest or {}).get("suggestions") or []
    identities = [ids for ids in (latest or {}).get("identities", []) if len(ids) > 1][:60]
    for sug in suggestions[:40]:
        refs |= {sug["a"], sug["b"]}
    for ids in identities:
        refs |= set(ids[:12])
    with case.reading() as s:
        if focus is not None:  # tracks decided since the tally was computed: shown apart, not asked again
            seen = seen_ids(s, focus["page"])
            focus["decided"] = [r for r in focus["page"] if seen[r]]
            focus["page"] = [r for r in focus["page"] if not seen[r]]
            focus["seen"] = {r: seen[r] for r in focus["page"]}
        rejected = _recent_rejections(s)
    return {"tally": latest, "proposals": proposals, "focus": focus, "flips": FLIPS, "doubtful": DOUBTFUL,
            "suggestions": suggestions[:40], "identities": identities,
            "tracks": _track_cards(case, refs | {r["track"] for r in rejected}),
            "judgments": list_judgments(case, latest=30)[::-1], "groups": list_groups(case, latest=20)[::-1],
            "rejected": rejected}


def _opened(p: dict[str, Any]) -> dict[str, Any]:
    """A proposal as the page opens it: the crops of its first page to confirm (a proposal of several
    pages is accepted one page at a time) and the steps accepting records."""
    steps = list(p.get("steps") or [])
    confirms = [st for st in steps if st["do"] == "confirm"]
    if len(confirms) > 1:  # several pages: this one alone, the judgment after the last
        steps = [confirms[0]]
    page = list(confirms[0]["tracks"]) if confirms else []
    return {**p, "page": page, "confirms": bool(confirms), "pages": len(confirms),
            "judged": [st for st in steps if st["do"] != "confirm"], "shown": page or list(p["tracks"])}


def _item_proposal(case: Case, ref: str) -> dict[str, Any]:
    """The open tracks of one item as a page to confirm (the item page's "confirm its people")."""
    from vericount.items import resolve
    from vericount.tally.proposals import PAGE

    with case.reading() as s:
        whole = s.get(Item, ref) if len(ref) == 64 else None  # the item page's link: no names to load
        item_id = whole.id if whole is not None else resolve(s, ref).id
        rows = s.scalars(select(PersonTrack).where(PersonTrack.item_id == item_id,
                                                   PersonTrack.source != "mark").order_by(PersonTrack.number))
        decided = set(s.scalars(select(schema.TrackReview.number).where(
            schema.TrackReview.item_id == item_id, schema.TrackReview.undone_at.is_(None))))
        tracks = [f"{t.item_id}:{t.number}" for t in sorted(rows, key=lambda t: -(t.score or 0.0))
                  if t.number not in decided]  # the surest first, the doubtful last
    page = tracks[:PAGE]
    return _opened({"kind": "confirm", "tracks": page, "against": [], "gain": None, "actions": 1,
                    "effect": "", "rank": None, "needs_reason": False, "item": item_id,
                    "why": f"the {len(tracks)} open track(s) of this item" +
                           (f", the first {PAGE}" if len(tracks) > PAGE else ""),
                    "steps": [{"do": "confirm", "tracks": page}] if page else []})


def _recent_rejections(s: Any, limit: int = 30) -> list[dict[str, Any]]:
    from vericount.store.schema import TrackReview

    rows = s.scalars(select(TrackReview).where(TrackReview.undone_at.is_(None),
                                               TrackReview.verdict == "not_person")
                     .order_by(TrackReview.id.desc()).limit(limit)).all()
    return [{"track": f"{r.item_id}:{r.number}", "reason": r.reason, "by": r.by,
             "at": r.at.isoformat(timespec="seconds")} for r in rows]


def _track_cards(case: Case, refs: set[str]) -> dict[str, dict[str, Any]]:
    by_item: dict[str, set[int]] = {}
    for ref in refs:
        item_id, _, number = ref.partition(":")
        if number.isdigit():
            by_item.setdefault(item_id, set()).add(int(number))
    out: dict[str, dict[str, Any]] = {}
    with case.reading() as s:
        names = _names(s, list(by_item))
        for item_id, numbers in by_item.items():
            for t in s.scalars(select(PersonTrack).where(PersonTrack.item_id == item_id,
                                                         PersonTrack.number.in_(numbers))):
                out[f"{item_id}:{t.number}"] = {
                    "item": item_id, "number": t.number, "name": names.get(item_id, item_id[:12]),
                    "crop": t.crop, "face": t.face, "t": t.best_t, "start": t.start, "end": t.end,
                    "score": t.score if t.source == "detector" else None,
                    "doubtful": t.source == "detector" and t.score is not None and t.score < DOUBTFUL}
    return out


def tally_page(case: Case, query: dict[str, str]) -> dict[str, Any]:
    from vericount.tally.service import history

    latest = latest_tally(case)
    cert = (latest or {}).get("certificate") or {}
    members = cert.get("members", [])
    return {"tally": latest, "certificate": cert, "members": members,
            "pairs": cert.get("pairs", [])[:2000], "history": history(case, limit=20)}


def claims_page(case: Case, query: dict[str, str]) -> dict[str, Any]:
    from vericount.claims.service import ledger

    found = ledger(case)
    latest = latest_tally(case)
    by_id = {c["id"]: c for c in found["claims"]}
    return {"ledger": found, "by_id": by_id, "compare": _compare(case, latest), "tally": latest}


def audit_page(case: Case, query: dict[str, str]) -> dict[str, Any]:
    q = select(AuditEvent)
    actor, item, action = query.get("actor", ""), query.get("item", ""), query.get("action", "")
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if item:
        q = q.where(AuditEvent.item_id.startswith(item.lower()))
    if action:
        q = q.where(AuditEvent.action.startswith(action))
    page = _page(query)
    with case.reading() as s:
        rows = [_event(e) for e in s.scalars(q.order_by(AuditEvent.id.desc()).offset((page - 1) * 100)
                                             .limit(100))]
        actors = [a for (a,) in s.execute(select(AuditEvent.actor).distinct())]
        actions = sorted({a.split(".")[0] for (a,) in s.execute(select(AuditEvent.action).distinct())})
    keep = {k: v for k, v in query.items() if k != "page" and v}
    return {"events": rows, "actors": sorted(actors), "actions": actions, "query": keep, "page": page}


SEARCH_LIMIT = 200


def search_page(case: Case, query: dict[str, str]) -> dict[str, Any]:
    """Hits of one search over every text of the case, each linking to its item at its time."""
    from vericount.text.search import KINDS, search

    q, kind = query.get("q", "").strip(), query.get("kind") or None
    out: dict[str, Any] = {"q": q, "kind": kind, "kinds": KINDS, "hits": [], "error": None}
    if q:
        try:
            out["hits"] = search(case, q, [kind] if kind else None, SEARCH_LIMIT)
        except InvalidValue as exc:
            out["error"] = str(exc)
    return out

