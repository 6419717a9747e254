"""The tally in a case: judgments on pairs of tracks, the count with its certificate, and its check.

The CLI and the desk call these functions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select, text

from vericount.errors import InvalidValue
from vericount.items import resolve
from vericount.store import audit
from vericount.store.schema import (
    CaseInfo,
    GroupJudgment,
    Item,
    Judgment,
    Match,
    PersonTrack,
    Source,
    TallyRow,
    TrackReview,
    utcnow,
)
from vericount.tally import check as checker
from vericount.tally import pairs, proposals
from vericount.tally.certificate import certificate, machine_calls
from vericount.tally.graph import (
    CERTIFIED,
    PROPOSED,
    SAME_FACE_DISTANCE,
    Alignment,
    GroupData,
    JudgmentData,
    Records,
    TrackData,
    count,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vericount.case import Case

VERDICTS = ("same", "different", "cant_tell")
TIME_LIMIT = 10.0  # seconds for the clique solver
PROPOSED_PAIRS = 20_000  # the machine's reading gets a certificate of its own up to this many pairs


@dataclass
class Scope:
    include_unreviewed: bool = False
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None
    group: str | None = None  # an item: only its repost group
    count_machine_calls: bool = False  # the headline counts the machine's calls (never certified)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_track(s: Session, ref: str) -> PersonTrack:
    """A track by ITEM:NUMBER, ITEM being a sha256 prefix or a file name."""
    item_ref, sep, number = ref.strip().rpartition(":")
    if not sep or not item_ref or not (number.isascii() and number.isdigit() and len(number) <= 9):
        raise InvalidValue(f"track {ref!r}: give ITEM:NUMBER (a sha256 prefix or file name, a colon, the "
                           "track number that `vericount tracks ITEM` lists)")
    whole = item_ref.lower()
    if len(whole) == 64 and all(c in "0123456789abcdef" for c in whole):  # the desk's refs: one lookup
        track = s.scalar(select(PersonTrack).where(PersonTrack.item_id == whole,
                                                   PersonTrack.number == int(number)))
        if track is not None:
            return track
    item_id = resolve(s, item_ref).id
    track = s.scalar(select(PersonTrack).where(PersonTrack.item_id == item_id,
                                               PersonTrack.number == int(number)))
    if track is None:
        raise InvalidValue(f"track {ref!r}: item {item_id[:12]} has no track {number}")
    return track


def judge(case: Case, ref_a: str, ref_b: str, verdict: str, reason: str | None = None,
          undo: bool = False) -> dict[str, Any]:
    """Record a person's judgment on two tracks (or undo the last one standing on that pair)."""
    verdict = verdict.replace("-", "_").replace("'", "")
    if verdict == "cannot_tell":
        verdict = "cant_tell"
    if verdict not in VERDICTS:
        raise InvalidValue(f"verdict {verdict!r}: must be same, different or cant-tell")
    reason = (reason or "").strip() or None
    if verdict == "different" and reason is None and not undo:
        raise InvalidValue("a 'different' judgment needs --reason (what shows they are two people)")
    with case.session() as s:
        ta, tb = parse_track(s, ref_a), parse_track(s, ref_b)
        audit.serialise(s)  # one writer at a time: the judgment standing on the pair is read, then replaced
        if (ta.item_id, ta.number) == (tb.item_id, tb.number):
            raise InvalidValue(f"{ref_a} and {ref_b} are the same track")
        if (ta.item_id, ta.number) > (tb.item_id, tb.number):
            ta, tb = tb, ta
        pair = {"a_item": ta.item_id, "a_number": ta.number, "b_item": tb.item_id, "b_number": tb.number}
        refs = f"{ta.item_id}:{ta.number}", f"{tb.item_id}:{tb.number}"
        if undo:
            row = s.scalar(select(Judgment).filter_by(**pair, verdict=verdict, undone_at=None)
                           .order_by(Judgment.id.desc()).limit(1))
            if row is None:
                raise InvalidValue(f"no standing '{verdict}' judgment on {ref_a} and {ref_b} to undo")
            row.undone_by, row.undone_at = case.actor, utcnow()
            audit.record(s, case.actor, "judgment.undo", ta.item_id, judgment=row.id, a=refs[0], b=refs[1],
                         verdict=verdict)
        else:
            for old in s.scalars(select(Judgment).filter_by(**pair, undone_at=None)):
                old.undone_by, old.undone_at = case.actor, utcnow()  # the newest judgment stands
            row = Judgment(**pair, verdict=verdict, reason=reason, by=case.actor, at=utcnow(),
                           a_span=[ta.start, ta.end], b_span=[tb.start, tb.end])
            s.add(row)
            s.flush()
            audit.record(s, case.actor, "judgment.add", ta.item_id, judgment=row.id, a=refs[0], b=refs[1],
                         verdict=verdict, reason=reason)
        return {"id": row.id, "a": refs[0], "b": refs[1], "verdict": verdict, "reason": row.reason,
                "by": row.by, "undone": undo}


def list_judgments(case: Case, standing_only: bool = True, latest: int | None = None) -> list[dict[str, Any]]:
    """The pair judgments, oldest first (``latest``: only that many of the newest)."""
    with case.reading() as s:
        query = select(Judgment).order_by(Judgment.id.desc())
        if standing_only:
            query = query.where(Judgment.undone_at.is_(None))
        if latest is not None:
            query = query.limit(latest)
        return [{"id": j.id, "a": f"{j.a_item}:{j.a_number}", "b": f"{j.b_item}:{j.b_number}",
                 "verdict": j.verdict, "reason": j.reason, "by": j.by, "at": j.at.isoformat(),
                 "undone": j.undone_at is not None} for j in reversed(s.scalars(query).all())]


def _in_dates(item: Item, sources: list[Source], scope: Scope) -> bool:
    low, high = scope.date_from or "0000", scope.date_to or "9999"
    if item.date_from or item.date_to:
        start, end = (item.date_from or item.date_to or "")[:10], (item.date_to or item.date_from or "")[:10]
        return start <= high and end >= low
    return any(src.posted_at and low <= src.posted_at[:10] <= high for src in sources)


def _items(s: Session, case: Case, scope: Scope) -> list[Item]:
    query = select(Item).where(Item.kind.in_(("image", "video")))
    if not scope.include_unreviewed:
        query = query.where(Item.status == "verified")
    items = list(s.scalars(query))
    if scope.group is not None:
        from vericount.reposts.service import membership

        anchor = resolve(s, scope.group).id
        root = membership(s)
        items = [i for i in items if i.id == anchor or (anchor in root and root.get(i.id) == root[anchor])]
    if scope.date_from or scope.date_to:
        ids = [i.id for i in items]
        sources: dict[str, list[Source]] = {}
        for src in s.scalars(select(Source).where(Source.item_id.in_(ids))) if ids else []:
            sources.setdefault(src.item_id, []).append(src)
        items = [i for i in items if _in_dates(i, sources.get(i.id, []), scope)]
    return items


def load(case: Case, scope: Scope) -> tuple[Records, list[str], list[Item]]:
    """The tracks in scope with reviewers' decisions on them, the standing pair and group judgments, the
    confirmed alignments, and the judgments gone stale."""
    with case.session() as s:
        items = _items(s, case, scope)
        ids = [i.id for i in items]
        tracks, spans, sizes = _tracks(s, ids)
        wanted = set(ids)
        judgments, stale = _judgments(s, wanted, spans)
        groups = []
        for g in s.scalars(select(GroupJudgment).where(GroupJudgment.undone_at.is_(None))
                           .order_by(GroupJudgment.id)):
            gone = [r for r in [*g.a, *g.b] if r.rpartition(":")[0] in wanted and r not in spans]
            if gone:
                stale.append(f"group judgment {g.id} names {len(gone)} track(s) the people stage has since "
                             f"recomputed ({gone[0]}...): its other tracks still count")
            groups.append(GroupData(g.id, g.verdict, list(g.a), list(g.b), g.reason, g.by, g.at.isoformat()))
        return Records(tracks, judgments, _alignments(s, ids, sizes), groups), stale, items


def _tracks(s: Session, ids: list[str]) -> tuple[list[TrackData], dict[str, tuple[float, float]],
                                                 dict[str, tuple[int, int]]]:
    reviews: dict[str, TrackReview] = {}
    for chunk in _chunks(ids):
        for r in s.scalars(select(TrackReview).where(TrackReview.item_id.in_(chunk),
                                                     TrackReview.undone_at.is_(None)).order_by(TrackReview.id)):
            reviews[f"{r.item_id}:{r.number}"] = r  # the newest standing review wins
    tracks: list[TrackData] = []
    spans: dict[str, tuple[float, float]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(ids):
        for row in s.scalars(select(PersonTrack).where(PersonTrack.item_id.in_(chunk))):
            ref = f"{row.item_id}:{row.number}"
            spans[ref] = (row.start, row.end)
            sizes[row.item_id] = (row.frame_width, row.frame_height)
            face = np.frombuffer(row.face_embedding, np.float32) if row.face_embedding else None
            review = reviews.get(ref)
            mark = row.source == "mark"
            confirmed: dict[str, Any] | None = None
            if mark:
                confirmed = {"mark": True, "by": row.marked_by, "at": row.created_at.isoformat()}
            elif review is not None and review.verdict == "person":
                confirmed = {"review": review.id, "action": review.action, "by": review.by,
                             "at": review.at.isoformat()}
            tracks.append(TrackData(
                ref, row.item_id, [(float(b[0]), tuple(b[1:5])) for b in row.boxes], face,
                checker.face_ok(row.face_size, row.face_sharpness), row.best_t, tuple(row.best_box), row.crop,
                mark, confirmed, review is not None and review.verdict == "not_person" and not mark,
                _score(row)))
    return tracks, spans, sizes


def _score(row: PersonTrack) -> float:
    """How sure the detector is that the track is a person: its stored calibrated score (people/score.py),
    else, for a track from before scores were stored, its best sighting's score; 1 for a reviewer's mark."""
    if row.source == "mark":
        return 1.0
    if row.score is not None:
        return float(row.score)
    return max((float(b[5]) for b in row.boxes if len(b) > 5), default=1.0)


def _judgments(s: Session, wanted: set[str], spans: dict[str, tuple[float, float]]
               ) -> tuple[list[JudgmentData], list[str]]:
    judgments, stale = [], []
    for j in s.scalars(select(Judgment).where(Judgment.undone_at.is_(None)).order_by(Judgment.id)):
        if j.a_item not in wanted or j.b_item not in wanted:
            continue
        a, b = f"{j.a_item}:{j.a_number}", f"{j.b_item}:{j.b_number}"
        if any(ref not in spans or max(abs(x - y) for x, y in zip(spans[ref], span, strict=True)) > 0.01
               for ref, span in ((a, j.a_span), (b, j.b_span))):
            stale.append(f"judgment {j.id} ({j.verdict}, {a} ~ {b}) is about a track the people stage "
                         "has since recomputed: judge the pair again")
            continue
        judgments.append(JudgmentData(j.id, a, b, j.verdict, j.reason, j.by, j.at.isoformat()))
    return judgments, stale


def _alignments(s: Session, ids: list[str], sizes: dict[str, tuple[int, int]]) -> list[Alignment]:
    alignments = []
    confirmed = select(Match).where(Match.state == "confirmed", Match.a.in_(ids), Match.b.in_(ids))
    for m in s.scalars(confirmed) if ids else []:
        if m.a_start is None or m.b_start is None:
            a_start = a_end = 0.0
            b_start = m.b_start if m.b_start is not None else 0.0
            speed = 1.0
        else:
            a_start, a_end, b_start, speed = m.a_start, m.a_end or m.a_start, m.b_start, m.speed or 1.0
        alignments.append(Alignment(m.id, m.a, m.b, a_start, a_end, b_start, speed, sizes.get(m.a, (1, 1)),
                                    sizes.get(m.b, (1, 1)), by_person=m.decided_by is not None))
    return alignments


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[k:k + size] for k in range(0, len(ids), size)]


def tally(case: Case, scope: Scope | None = None, time_limit: float = TIME_LIMIT,
          save: bool = True) -> dict[str, Any]:
    """At least N (certified: reviewers' decisions and same-frame facts only), N' (proposed: if the machine's
    open proposals held), about M (estimated), at most K, with the certificates and the ranked proposals."""
    scope = scope or Scope()
    started = time.perf_counter()
    records, stale, items = load(case, scope)
    certified_graph = records.graph(CERTIFIED)
    certified = count(certified_graph, time_limit, estimate=False)
    proposed_graph = records.graph(PROPOSED)
    proposed = count(proposed_graph, time_limit)
    blocked = bool(certified_graph.contradictions or proposed_graph.contradictions)
    contradictions = list(dict.fromkeys([*certified_graph.contradictions, *proposed_graph.contradictions]))
    small = proposed.at_least * (proposed.at_least - 1) // 2 <= PROPOSED_PAIRS
    proposed_cert = None if blocked or not small else certificate(proposed_graph, proposed)
    skip = {frozenset((j.a, j.b)) for j in records.judgments}
    out: dict[str, Any] = {
        "at_least": None if blocked else certified.at_least,
        "proposed": None if blocked else {
            "at_least": proposed.at_least, "machine_calls": machine_calls(proposed_graph, proposed),
            "optimal": proposed.optimal, "certificate": proposed_cert},
        "estimate": proposed.estimate,
        "at_most": proposed.at_most + sum(1 for t in records.tracks if t.score < PROPOSED.min_score
                                          and not (t.rejected or t.confirmed or t.mark)),  # doubtful: apart
        "optimal": certified.optimal and not blocked,
        "clique_upper_bound": certified.clique_upper,
        "include_unreviewed": scope.include_unreviewed,
        "count_machine_calls": scope.count_machine_calls,
        "scope": scope.to_json(),
        "items": len(items),
        "tracks": len(records.tracks),
        "confirmed": sum(1 for t in records.tracks if t.confirmed and not t.rejected),
        "rejected": sum(1 for t in records.tracks if t.rejected),
        "judgments": len(records.judgments),
        "group_judgments": len(records.groups),
        "estimate_method": f"tracks nobody rejected, joined when their closest faces are within "
                           f"{SAME_FACE_DISTANCE} (dlib ResNet distance), never across a recorded "
                           "'different'; tracks without a face stay apart (the body embedding is too weak to "
                           "join people)",
        "contradictions": contradictions,
        "stale_judgments": stale,
        "refused_joins": certified_graph.refused,
        "certificate": None if blocked else certificate(certified_graph, certified),
        "proposals": [] if blocked else proposals.rank(records, certified_graph, certified, proposed_graph,
                                                       proposed),
        "suggestions": pairs.different(certified_graph, certified, skip, 20)
        + pairs.same(proposed_graph, proposed, skip, 20),
        "identities": _identities(proposed_graph.nodes, proposed.clusters),
        "seconds": round(time.perf_counter() - started, 3),
    }
    out["headline"] = headline(out)
    with case.session() as s:
        case_id = s.scalar(select(CaseInfo.value).where(CaseInfo.key == "case_id"))
    for cert in (out["certificate"], proposed_cert):
        if cert is not None:
            cert.update(case=case_id, computed_at=utcnow().isoformat(),
                        include_unreviewed=scope.include_unreviewed, scope=scope.to_json())
    if save:
        n_proposed = out["proposed"]["at_least"] if out["proposed"] else None
        with case.session() as s:
            s.add(TallyRow(at=utcnow(), by=case.actor, at_least=out["at_least"], proposed=n_proposed,
                           estimate=out["estimate"], at_most=out["at_most"], optimal=out["optimal"],
                           scope=scope.to_json(), result=out))
            audit.record(s, case.actor, "tally.compute", None, at_least=out["at_least"], proposed=n_proposed,
                         estimate=out["estimate"], at_most=out["at_most"], optimal=out["optimal"],
                         scope=scope.to_json())
    return out


def _identities(nodes: list[list[str]], clusters: list[int]) -> list[list[str]]:
    """The estimate's people: the track refs of each, largest first (the desk's gallery)."""
    people: dict[int, list[str]] = {}
    for node, cluster in zip(nodes, clusters, strict=True):
        people.setdefault(cluster, []).extend(node)
    return sorted((sorted(refs) for refs in people.values()), key=lambda refs: (-len(refs), refs[0]))


def headline(result: dict[str, Any]) -> str:
    whose = "footage, reviewed or not" if result["include_unreviewed"] else "verified footage"
    if result["at_least"] is None:
        return (f"no certified count: {len(result['contradictions'])} contradiction(s) between judgments; "
                f"about {result['estimate']} (estimated), at most {result['at_most']} in {whose}")
    bound = "" if result["optimal"] else (f" (the search stopped: no set of more than "
                                          f"{result['clique_upper_bound']} is possible; a longer search may "
                                          "raise N)")
    proposed = result["proposed"]
    more = (f"{proposed['at_least']} proposed, resting on {proposed['machine_calls']} open proposal(s) of "
            "the machine" if proposed["machine_calls"] else "the machine's own reading finds no more")
    rest = f"; {more}; about {result['estimate']} (estimated), at most {result['at_most']}"
    if result.get("count_machine_calls"):
        return (f"at least {proposed['at_least']} distinct people in {whose}, COUNTING "
                f"{proposed['machine_calls']} MACHINE CALL(S) NO REVIEWER CONFIRMED (not certified: "
                f"{MACHINE_ERROR}); certified: at least {result['at_least']}{bound}; about "
                f"{result['estimate']} (estimated), at most {result['at_most']}")
    return f"at least {result['at_least']} distinct people in {whose} (certified){bound}{rest}"


# What bench/faces.py and bench/people.py measured of the calls a machine-counted headline rests on.
MACHINE_ERROR = ("a face-distance call is wrong for some pairs of photos of one person taken years apart, "
                 "and a detection may be no person at all; see bench/faces.py and bench/people.py")


def history(case: Case, limit: int = 50) -> list[dict[str, Any]]:
    with case.session() as s:
        rows = s.scalars(select(TallyRow).order_by(TallyRow.id.desc()).limit(limit))
        return [{"id": r.id, "at": r.at.isoformat(), "by": r.by, "at_least": r.at_least,
                 "proposed": r.proposed, "estimate": r.estimate, "at_most": r.at_most, "optimal": r.optimal,
                 "scope": r.scope}
                for r in rows]


def check_file(case: Case, path: Path) -> list[str]:
    """Problems with a certificate file (a `tally --json` output or its "certificate" part)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidValue(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(doc, dict):
        raise InvalidValue(f"{path}: a certificate is a JSON object")
    cert = doc.get("certificate") if "format" not in doc else doc
    if not isinstance(cert, dict):
        raise InvalidValue(f"{path}: no certificate in it (a blocked tally has none)")
    return check_certificate(case, cert)


def check_certificate(case: Case, cert: dict[str, Any]) -> list[str]:
    """Problems with a certificate, every fact re-read from the case (tally/check.py)."""
    with case.reading() as s:
        return checker.check(cert, lambda sql, params: s.execute(text(sql), params).all())

