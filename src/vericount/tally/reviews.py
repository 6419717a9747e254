"""Reviewers' decisions that the certified count rests on, beside the pair judgments (tally/service.py):

- a track shows one real person (``confirm``), or does not (``reject``, with the reason), decided for many
  tracks in one action: a page of crops confirmed at once, the few that are not a person flipped;
- a group judgment: every track of one set is another person than every track of a second set (or the
  tracks of one set are all different people), or the tracks of a set are all one person.

Each is recorded with who and when, in the audit log, and can be undone; the newest standing decision on a
track stands. The CLI and the desk call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vericount.errors import Conflict, InvalidValue
from vericount.items import resolve
from vericount.store import audit
from vericount.store.schema import GroupJudgment, PersonTrack, TrackReview, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.case import Case

MAX_TRACKS = 5000  # tracks one action may decide: a reviewer cannot look at more at once
REVIEW_VERDICTS = ("person", "not_person")
GROUP_VERDICTS = ("different", "same")
CERTIFIED_SET = "certified"  # in a group: one track of each member of the latest certified count


@dataclass
class Decided:
    action: int | None  # the id of the first review of the action (None when nothing changed)
    verdict: str
    tracks: list[str]  # the refs decided
    unchanged: list[str]  # refs whose standing review already said so
    undone: bool = False
    doubtful: list[str] = field(default_factory=list)  # an ITEM's doubtful tracks, left open (not confirmed)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def expand(s: Session, refs: list[str], exclude: list[str] | None = None,
           only_open: bool = False, doubtful: list[str] | None = None) -> list[PersonTrack]:
    """Tracks named by ``ITEM:NUMBER`` or ``ITEM`` (every track of the item), without the ``exclude`` ones.
    With ``only_open``, an ``ITEM`` stands for its tracks no reviewer has decided on yet. Given a
    ``doubtful`` list, an ``ITEM`` leaves out its tracks the detector scored under DOUBTFUL (people/score.py)
    and names them there: they are confirmed only by name."""
    from vericount.people.score import DOUBTFUL
    from vericount.tally.service import parse_track

    out: dict[tuple[str, int], PersonTrack] = {}
    for ref in refs:
        if ":" in ref.strip().rstrip(":"):
            track = parse_track(s, ref)
            out[(track.item_id, track.number)] = track
            continue
        item = resolve(s, ref)
        tracks = list(s.scalars(select(PersonTrack).where(PersonTrack.item_id == item.id)
                                .order_by(PersonTrack.number)))
        if not tracks:
            raise InvalidValue(f"{ref}: item {item.id[:12]} has no tracks (run `vericount people` first)")
        if only_open:
            decided = {n for n, in s.execute(select(TrackReview.number).where(
                TrackReview.item_id == item.id, TrackReview.undone_at.is_(None)))}
            tracks = [t for t in tracks if t.number not in decided]
        if doubtful is not None:
            doubtful += [f"{t.item_id}:{t.number}" for t in tracks
                         if t.source == "detector" and t.score is not None and t.score < DOUBTFUL]
            tracks = [t for t in tracks if t.source != "detector" or t.score is None or t.score >= DOUBTFUL]
        out.update({(t.item_id, t.number): t for t in tracks})
    for ref in exclude or []:
        track = parse_track(s, ref)
        if (track.item_id, track.number) not in out:
            raise InvalidValue(f"--except {ref}: not among the tracks named")
        del out[(track.item_id, track.number)]
    if len(out) > MAX_TRACKS:
        raise InvalidValue(f"{len(out)} tracks in one action: decide at most {MAX_TRACKS} at a time")
    return list(out.values())


def standing(s: Session, item_id: str, number: int) -> TrackReview | None:
    return s.scalar(select(TrackReview).where(TrackReview.item_id == item_id, TrackReview.number == number,
                                              TrackReview.undone_at.is_(None))
                    .order_by(TrackReview.id.desc()).limit(1))


def review(case: Case, refs: list[str], verdict: str, reason: str | None = None,
           exclude: list[str] | None = None, undo: bool = False,
           seen: dict[str, int] | None = None, with_doubtful: bool = False) -> Decided:
    """Record that each named track shows one real person (``person``) or not (``not_person``, with a
    reason), in one action; or undo the standing review of each (``undo``). ``seen``: for each track, the
    id of the standing review the reviewer saw (0: none); if another decision stands now, nothing is saved
    and Conflict says whose. Confirming an ``ITEM`` leaves its doubtful tracks open (``Decided.doubtful``)
    unless ``with_doubtful``."""
    with case.session() as s:
        return _review(case, s, refs, verdict, reason, exclude, undo, seen, with_doubtful)


def review_page(case: Case, confirm: list[str], reject: dict[str, str],
                seen: dict[str, int] | None = None) -> list[Decided]:
    """One page of crops decided in one transaction: ``confirm`` are people, each of ``reject`` is not
    (with its reason: not a person, the same person boxed twice...). All or nothing, checked against
    ``seen`` as review() does."""
    both = set(confirm) & set(reject)
    if both:
        raise InvalidValue(f"{sorted(both)[0]}: confirmed and rejected at once")
    out: list[Decided] = []
    with case.session() as s:
        if confirm:
            out.append(_review(case, s, confirm, "person", None, None, False, seen))
        for why, refs in _by_reason(reject).items():
            out.append(_review(case, s, refs, "not_person", why, None, False, seen))
    return out


def _by_reason(reject: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ref, why in reject.items():
        out.setdefault(why, []).append(ref)
    return out


def _review(case: Case, s: Session, refs: list[str], verdict: str, reason: str | None,
            exclude: list[str] | None, undo: bool, seen: dict[str, int] | None,
            with_doubtful: bool = False) -> Decided:
    if verdict not in REVIEW_VERDICTS:
        raise InvalidValue(f"verdict {verdict!r}: must be one of {', '.join(REVIEW_VERDICTS)}")
    reason = (reason or "").strip() or None
    if verdict == "not_person" and reason is None and not undo:
        raise InvalidValue("rejecting a track needs --reason (what it shows instead: a coat, a poster...)")
    if not refs:
        raise InvalidValue("name the tracks (ITEM:NUMBER) or items (ITEM) to decide on")
    confirming = verdict == "person" and not undo and seen is None
    audit.serialise(s)  # what stands is read, checked against ``seen`` and superseded by one writer at a time
    doubtful: list[str] = []
    tracks = expand(s, refs, exclude, only_open=confirming,
                    doubtful=doubtful if confirming and not with_doubtful else None)
    if seen is not None:
        _check_seen(s, tracks, seen)
    done: list[str] = []
    unchanged: list[str] = []
    action: int | None = None
    for track in tracks:
        ref = f"{track.item_id}:{track.number}"
        now = standing(s, track.item_id, track.number)
        if undo:
            if now is None or now.verdict != verdict:
                unchanged.append(ref)
                continue
            now.undone_by, now.undone_at = case.actor, utcnow()
            done.append(ref)
            continue
        if now is not None and now.verdict == verdict:
            unchanged.append(ref)
            continue
        if now is not None:
            now.undone_by, now.undone_at = case.actor, utcnow()  # the newest decision stands
        row = TrackReview(item_id=track.item_id, number=track.number, verdict=verdict, reason=reason,
                          action=action or 0, by=case.actor, at=utcnow())
        s.add(row)
        s.flush()
        if action is None:
            action = row.action = row.id
        done.append(ref)
    if done:
        audit.record(s, case.actor, "track.unreview" if undo else "track.review", None, verdict=verdict,
                     reason=reason, review_action=action, tracks=done)
    return Decided(action, verdict, done, unchanged, undo, doubtful)


def _check_seen(s: Session, tracks: list[PersonTrack], seen: dict[str, int]) -> None:
    """Refuse (Conflict) when a track's standing review is not the one the reviewer saw."""
    changes: list[dict[str, object]] = []
    for t in tracks:
        ref = f"{t.item_id}:{t.number}"
        if ref not in seen:
            raise InvalidValue(f"{ref}: the page did not say which decision on it you saw; reload it")
        now = standing(s, t.item_id, t.number)
        if (now.id if now is not None else 0) != seen[ref]:
            if now is not None:
                changes.append({"actor": now.by, "at": now.at.isoformat(timespec="seconds"),
                                "action": "track.review",
                                "detail": {"track": ref, "verdict": now.verdict, "reason": now.reason}})
            else:
                last = s.scalar(select(TrackReview).where(TrackReview.item_id == t.item_id,
                                                          TrackReview.number == t.number)
                                .order_by(TrackReview.id.desc()).limit(1))
                changes.append({"actor": last.undone_by if last is not None else "?",
                                "at": last.undone_at.isoformat(timespec="seconds")
                                if last is not None and last.undone_at is not None else "",
                                "action": "track.unreview",
                                "detail": {"track": ref, "verdict": "open again (a decision was undone)"}})
    if changes:
        raise Conflict(f"someone else decided on {len(changes)} of these tracks after you opened the page; "
                       "nothing was saved. Their decisions are below: reload and decide again.", changes)


def group(case: Case, verdict: str, a: list[str], b: list[str] | None = None,
          reason: str | None = None) -> dict[str, Any]:
    """Record a group judgment in one action: ``different`` (every track of ``a`` against every track of
    ``b``, or the tracks of ``a`` pairwise when ``b`` is empty) or ``same`` (``a`` is one person). ``ITEM``
    stands for the item's tracks a reviewer confirmed; ``certified`` for one track of each member of the
    latest certified count."""
    if verdict not in GROUP_VERDICTS:
        raise InvalidValue(f"verdict {verdict!r}: must be different or same")
    reason = (reason or "").strip() or None
    if reason is None:
        raise InvalidValue("a group judgment needs --reason (what you compared and saw)")
    b = b or []
    if verdict == "same" and b:
        raise InvalidValue("a 'same' group judgment names one set: the tracks that are all one person")
    with case.session() as s:
        set_a, set_b = _refs(case, s, a), _refs(case, s, b)
        if verdict == "different" and not set_b and len(set_a) < 2:
            raise InvalidValue("name at least two tracks that are all different people (or --against a set)")
        if verdict == "same" and len(set_a) < 2:
            raise InvalidValue("name at least two tracks that are one person")
        both = set(set_a) & set(set_b)
        if both:
            raise InvalidValue(f"{sorted(both)[0]} is in both sets: a track cannot differ from itself")
        row = GroupJudgment(verdict=verdict, a=set_a, b=set_b, reason=reason, by=case.actor, at=utcnow())
        s.add(row)
        s.flush()
        audit.record(s, case.actor, "group.add", None, group=row.id, verdict=verdict, a=set_a, b=set_b,
                     reason=reason)
        return group_json(row)


def undo_group(case: Case, group_id: int) -> dict[str, Any]:
    with case.session() as s:
        audit.serialise(s)  # two undos of one judgment: the second finds it undone
        row = s.get(GroupJudgment, group_id)
        if row is None or row.undone_at is not None:
            raise InvalidValue(f"no standing group judgment {group_id} to undo")
        row.undone_by, row.undone_at = case.actor, utcnow()
        audit.record(s, case.actor, "group.undo", None, group=row.id, verdict=row.verdict)
        return group_json(row)


def list_groups(case: Case, standing_only: bool = True, latest: int | None = None) -> list[dict[str, Any]]:
    """The group judgments, oldest first (``latest``: only that many of the newest)."""
    with case.reading() as s:
        query = select(GroupJudgment).order_by(GroupJudgment.id.desc())
        if standing_only:
            query = query.where(GroupJudgment.undone_at.is_(None))
        if latest is not None:
            query = query.limit(latest)
        return [group_json(g) for g in reversed(s.scalars(query).all())]


def group_json(g: GroupJudgment) -> dict[str, Any]:
    return {"id": g.id, "verdict": g.verdict, "a": list(g.a), "b": list(g.b), "reason": g.reason, "by": g.by,
            "at": g.at.isoformat(), "undone": g.undone_at is not None}


def _refs(case: Case, s: Session, tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if token == CERTIFIED_SET:
            out += _certified_members(s)
            continue
        if ":" in token.strip().rstrip(":"):
            tracks = expand(s, [token])
        else:
            tracks = [t for t in expand(s, [token])
                      if ((r := standing(s, t.item_id, t.number)) is not None and r.verdict == "person")
                      or t.source == "mark"]
            if not tracks:
                raise InvalidValue(f"{token}: no track of this item is confirmed as a person yet")
        out += [f"{t.item_id}:{t.number}" for t in tracks]
    return list(dict.fromkeys(out))


def _certified_members(s: Session) -> list[str]:
    from vericount.store.schema import TallyRow

    for row in s.scalars(select(TallyRow).order_by(TallyRow.id.desc()).limit(20)):
        cert = (row.result or {}).get("certificate")
        if cert and cert.get("kind") == "certified":
            return [m["track"] for m in cert["members"]]
    raise InvalidValue("'certified' names the members of the latest certified count: run `vericount tally`")


def review_states(case: Case, item: str | None = None) -> list[dict[str, Any]]:
    """Every track (of ``item``, or of the case) with the standing decision on it: ``person``,
    ``not_person``, ``mark`` (a reviewer's own) or ``open`` (a proposal nobody decided on yet)."""
    with case.reading() as s:
        query = select(PersonTrack).order_by(PersonTrack.item_id, PersonTrack.number)
        decided = select(TrackReview).where(TrackReview.undone_at.is_(None)).order_by(TrackReview.id)
        if item is not None:
            item_id = resolve(s, item).id
            query = query.where(PersonTrack.item_id == item_id)
            decided = decided.where(TrackReview.item_id == item_id)
        latest = {(r.item_id, r.number): r for r in s.scalars(decided)}
        out = []
        for t in s.scalars(query):
            r = latest.get((t.item_id, t.number))
            state = "mark" if t.source == "mark" else (r.verdict if r is not None else "open")
            out.append({"track": f"{t.item_id}:{t.number}", "source": t.source, "decision": state,
                        "by": t.marked_by if t.source == "mark" else (r.by if r else None),
                        "at": r.at.isoformat() if r else None, "reason": r.reason if r else None,
                        "review": r.id if r else None, "action": r.action if r else None})
        return out


def seen_ids(s: Session, refs: list[str]) -> dict[str, int]:
    """For each ``ITEM:NUMBER`` ref, the id of its standing review (0: none): what a page shows, and
    sends back so that review() can tell whether someone else decided in between."""
    wanted: dict[str, set[int]] = {}
    for ref in refs:
        item, _, number = ref.rpartition(":")
        if number.isdigit():
            wanted.setdefault(item, set()).add(int(number))
    out = dict.fromkeys(refs, 0)
    for item, numbers in wanted.items():
        for r in s.scalars(select(TrackReview).where(TrackReview.item_id == item,
                                                     TrackReview.number.in_(numbers),
                                                     TrackReview.undone_at.is_(None))
                           .order_by(TrackReview.id)):
            out[f"{r.item_id}:{r.number}"] = r.id
    return out
