"""The case's tables against the custody events that made them.

One pass over the events replays what each one set (an item added with its kind, size and first name;
its names, sources, status, place, date, tags and notes; judgments and their undoing; a person's match
decisions; marked people; tallies; desk accounts); then each table is compared with the replay in one
pass. A row that no event made, an event whose row is gone, and a value that is not what the last event
set are each named: that is what a change made in SQL, behind the log's back, looks like. Events also
carry what they replaced (``before``): a "before" that is not what the replay had shows a change made
behind the log's back even when a later, logged change has since hidden it.

It reads plain mappings (rows of the database or of a JSON export), so ``vericount verify`` and
``vericount verify-bundle`` run the same check. Details an older event lacks are skipped and said so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]
# The item columns an event sets, by action: (column, detail key, "before" key).
_SETS = {
    "item.status": (("status", "status", "status"), ("status_note", "note", "note")),
    "item.locate": (("lat", "lat", "lat"), ("lon", "lon", "lon"), ("geo_precision_m", "precision_m",
                                                                     "precision_m"),
                    ("geo_method", "method", "method")),
    "item.date": (("date_from", "date_from", "from"), ("date_to", "date_to", "to"),
                  ("date_method", "method", "method")),
}
# What item.add set that nothing changes later. Not the kind: the metadata stage corrects it (an animated
# GIF sniffed as an image is a video) with no event per item.
_ADDED = (("size", "size"), ("media_type", "media_type"))
_SOURCE = ("url", "platform", "account", "posted_at", "notes")
CHECKS = ("items", "names", "sources", "tags", "notes", "judgments", "match decisions", "marked people",
          "tallies", "users", "attachments")


@dataclass(frozen=True)
class StateProblem:
    item: str | None
    detail: str


@dataclass
class Tables:
    """The rows to check, each table in one list (``users`` None: not available, as in an export)."""

    items: Sequence[Row]
    item_names: Sequence[Row]
    sources: Sequence[Row]
    tags: Sequence[Row]
    notes: Sequence[Row]
    judgments: Sequence[Row]
    matches: Sequence[Row]  # only those a person decided (decided_by set) need be given
    marks: Sequence[Row]  # tracks whose source is "mark"
    tallies: Sequence[Row]
    users: Sequence[Row] | None = None
    attachments: Sequence[Row] | None = None  # None: not in the rows given (an export made before them)


@dataclass
class StateReport:
    problems: list[StateProblem] = field(default_factory=list)
    events: int = 0
    checked: list[str] = field(default_factory=list)  # which tables were checked
    skipped: list[str] = field(default_factory=list)  # what was not, and why


@dataclass
class _Item:
    event: int
    actor: str
    values: dict[str, Any]  # column -> value the log says it has
    setter: dict[str, int]  # column -> the event that set it
    names: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (name, path) -> event, by
    sources: Counter[tuple[Any, ...]] = field(default_factory=Counter)  # (*_SOURCE, added_by)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> by
    notes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (text, by)
    marks: Counter[tuple[str | None, float]] = field(default_factory=Counter)  # (by, time)
    attached: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (role, sha256, by)


class _Replay:
    def __init__(self, report: StateReport, on_import: Callable[[Row], list[Row] | str] | None,
                 where: str) -> None:
        self.report = report
        self.where = where
        self.on_import = on_import
        self.items: dict[str, _Item] = {}
        self.judgments: dict[int, dict[str, Any]] = {}
        self.standing: dict[tuple[str, int, str, int], set[int]] = {}
        self.matches: dict[frozenset[str], tuple[int, str, str, str | None]] = {}
        self.tallies: list[tuple[int, dict[str, Any]]] = []
        self.users: dict[str, tuple[int, str]] = {}
        self.unreplayed: list[str] = []  # imports whose rows cannot be told from rows made behind the log
        self.lacking: Counter[str] = Counter()
        self.in_import = False

    def problem(self, item: str | None, detail: str) -> None:
        self.report.problems.append(StateProblem(item, detail))

    def run(self, events: Iterable[Row]) -> None:
        for ev in events:
            self.report.events += 1
            self.apply(ev)

    def apply(self, ev: Row) -> None:  # noqa: PLR0912 - one branch per kind of event
        action, item_id, actor, n = ev["action"], ev["item_id"], ev["actor"], int(ev["id"])
        detail: dict[str, Any] = ev["detail"] if isinstance(ev["detail"], dict) else {}
        item = self.items.get(item_id) if item_id else None
        if action == "item.add" and item_id:
            if item is not None:
                self.problem(item_id, f"added twice (events {item.event} and {n}): its row was removed in "
                                      "between, behind the log's back")
            values = {"status": "unreviewed", "added_by": actor}
            values.update({col: None for cols in _SETS.values() for col, _, _ in cols if col != "status"})
            for col, key in _ADDED:
                if key in detail:
                    values[col] = detail[key]
                else:
                    self.lacking[f"item {col}"] += 1
            item = self.items[item_id] = _Item(n, actor, values, {})
            if "name" in detail and "path" in detail:
                item.names[(detail["name"], detail["path"])] = (n, actor)
            else:
                self.lacking["item first name"] += 1
        elif item_id and item is None and action.startswith(("item.", "people.mark")):
            if not self.unreplayed:
                self.problem(item_id, f"event {n} ({action}) is about an item that no event added")
        elif action in _SETS and item is not None:
            self._set(item_id, item, n, action, detail)
        elif action == "item.name" and item is not None:
            item.names[(detail.get("name", ""), detail.get("path", ""))] = (n, actor)
        elif action == "item.source" and item is not None:
            item.sources[(*(_blank(detail.get(k)) for k in _SOURCE), actor)] += 1
        elif action == "item.tag" and item is not None:
            item.tags[str(detail.get("tag"))] = actor
        elif action == "item.untag" and item is not None:
            item.tags.pop(str(detail.get("tag")), None)
        elif action == "item.note" and item is not None:
            item.notes[(str(detail.get("text")), actor)] += 1
        elif action == "item.attach" and item is not None:
            item.attached[(str(detail.get("role")), str(detail.get("sha256")), actor)] += 1
        elif action == "people.mark" and item is not None:
            item.marks[(actor, round(float(detail.get("time", math.nan)), 3))] += 1
        elif action in ("judgment.add", "judgment.undo"):
            self._judgment(ev, detail)
        elif action in ("match.confirm", "match.reject") and item_id and detail.get("other"):
            state = "confirmed" if action == "match.confirm" else "rejected"
            self.matches[frozenset((item_id, detail["other"]))] = (n, state, actor, detail.get("reason"))
        elif action == "tally.compute":
            self.tallies.append((n, detail))
        elif action in ("user.add", "user.update") and not self.in_import and detail.get("user"):
            self.users[detail["user"]] = (n, str(detail.get("role")))
        elif action == "case.import":
            self._import(ev, detail)

    def _set(self, item_id: str, item: _Item, n: int, action: str, detail: dict[str, Any]) -> None:
        before = detail.get("before")
        for col, key, before_key in _SETS[action]:
            if isinstance(before, dict) and before_key in before and \
                    not _same(before[before_key], item.values.get(col)):
                since = item.setter.get(col, item.event)
                self.problem(item_id, f"{col} was {before[before_key]!r} when event {n} ({action}) changed "
                                      f"it, but the log (event {since}) set {item.values.get(col)!r}: it was "
                                      "changed behind the log's back")
            if key in detail:
                item.values[col] = detail[key]
                item.setter[col] = n
            else:
                self.lacking[f"{action} {key}"] += 1

    def _judgment(self, ev: Row, detail: dict[str, Any]) -> None:
        n, actor = int(ev["id"]), ev["actor"]
        number = detail.get("judgment")
        pair = _pair(detail.get("a"), detail.get("b"))
        if not isinstance(number, int) or pair is None:
            self.lacking[f"{ev['action']} judgment"] += 1
            return
        if ev["action"] == "judgment.undo":
            row = self.judgments.get(number)
            if row is not None:
                row["undone_by"] = actor
            self.standing.get(pair, set()).discard(number)
            return
        for old in self.standing.get(pair, set()):
            self.judgments[old]["undone_by"] = actor
        self.standing[pair] = {number}
        self.judgments[number] = {"event": n, "a_item": pair[0], "a_number": pair[1], "b_item": pair[2],
                                  "b_number": pair[3], "verdict": detail.get("verdict"),
                                  "reason": detail.get("reason"), "by": actor, "undone_by": None}

    def _import(self, ev: Row, detail: dict[str, Any]) -> None:
        source = detail.get("source_case")
        got = self.on_import(ev) if self.on_import is not None and not self.in_import else \
            "its source's custody log is not at hand"
        if isinstance(got, str):
            self.unreplayed.append(f"the rows imported from case {source} (event {ev['id']}): {got}")
            return
        self.in_import = True
        try:
            for source_event in got:
                self.apply(source_event)
        finally:
            self.in_import = False


def check_state(events: Iterable[Row], tables: Tables,
                on_import: Callable[[Row], list[Row] | str] | None = None,
                where: str = "the database") -> StateReport:
    """Replay ``events`` (log order) and compare ``tables`` with what they set.

    ``on_import`` gives the source's events for a ``case.import`` event (or why it cannot): the imported
    rows are checked against the source's log. ``where`` names the rows' place in messages."""
    report = StateReport()
    replay = _Replay(report, on_import, where)
    replay.run(events)
    _compare_items(replay, tables)
    _compare_judgments(replay, tables.judgments)
    _compare_matches(replay, tables.matches)
    _compare_tallies(replay, tables.tallies)
    checked = list(CHECKS)
    if tables.users is None:
        checked.remove("users")
        report.skipped.append("users: not in the rows given")
    else:
        _compare_users(replay, tables.users)
    if tables.attachments is None:
        checked.remove("attachments")
        report.skipped.append("attachments: not in the rows given")
    report.checked = checked
    report.skipped.extend(replay.unreplayed)
    if replay.unreplayed:
        report.skipped.append("rows that no event made are not named (an import could not be replayed)")
    report.skipped.extend(f"{what}: missing from {k} older event(s)"
                          for what, k in sorted(replay.lacking.items()))
    return report


def _compare_items(replay: _Replay, tables: Tables) -> None:  # noqa: PLR0912 - one table after another
    lenient = bool(replay.unreplayed)
    present: set[str] = set()
    for row in tables.items:
        present.add(row["id"])
        item = replay.items.get(row["id"])
        if item is None:
            if not lenient:
                replay.problem(row["id"], f"is in {replay.where} but no event added it: it was inserted "
                                          "behind the log's back")
            continue
        for col, want in item.values.items():
            if not _same(row.get(col), want):
                since = item.setter.get(col, item.event)
                replay.problem(row["id"], f"{col} is {row.get(col)!r} but the log (event {since}) set "
                                          f"{want!r}: it was changed behind the log's back")
    for item_id, item in replay.items.items():
        if item_id not in present:
            replay.problem(item_id, f"was added (event {item.event}) but its row is not in {replay.where}: "
                                    "it was deleted behind the log's back")
    names: dict[str, set[tuple[str, str, str]]] = {}
    for row in tables.item_names:
        names.setdefault(row["item_id"], set()).add((row["name"], row["path"], row["seen_by"]))
    sources: dict[str, Counter[tuple[Any, ...]]] = {}
    for row in tables.sources:
        sources.setdefault(row["item_id"], Counter())[(*(_blank(row.get(k)) for k in _SOURCE),
                                                       row["added_by"])] += 1
    tags: dict[str, dict[str, str]] = {}
    for row in tables.tags:
        tags.setdefault(row["item_id"], {})[row["tag"]] = row["by"]
    notes: dict[str, Counter[tuple[str, str]]] = {}
    for row in tables.notes:
        notes.setdefault(row["item_id"], Counter())[(row["text"], row["by"])] += 1
    marks: dict[str, Counter[tuple[str | None, float]]] = {}
    for row in tables.marks:
        mark = (row.get("marked_by"), round(float(row["best_t"]), 3))
        marks.setdefault(row["item_id"], Counter())[mark] += 1
    attached: dict[str, Counter[tuple[str, str, str]]] = {}
    for row in tables.attachments or ():
        attached.setdefault(row["item_id"], Counter())[(row["role"], row["sha256"], row["added_by"])] += 1
    for item_id in present | set(replay.items):
        item = replay.items.get(item_id)
        if item is None or item_id not in present:
            continue  # already named, once for the item
        expected_names = {(name, path, by) for (name, path), (_, by) in item.names.items()}
        _differ(replay, item_id, "name", names.get(item_id, set()), expected_names)
        _differ(replay, item_id, "source", sources.get(item_id, Counter()), item.sources)
        _differ(replay, item_id, "tag", set(tags.get(item_id, {}).items()), set(item.tags.items()))
        _differ(replay, item_id, "note", notes.get(item_id, Counter()), item.notes)
        _differ(replay, item_id, "marked person", marks.get(item_id, Counter()), item.marks)
        if tables.attachments is not None:
            _differ(replay, item_id, "attachment", attached.get(item_id, Counter()), item.attached)
    if not lenient:
        for table, rows in (("names", names), ("sources", sources), ("tags", tags), ("notes", notes),
                            ("marked people", marks), ("attachments", attached)):
            for item_id in sorted(set(rows) - present):
                replay.problem(item_id, f"has {table} in {replay.where} but is not an item")


def _differ(replay: _Replay, item_id: str, what: str, actual: Iterable[Any], expected: Iterable[Any]) -> None:
    if actual == expected:  # the common case, without building counters
        return
    have, want = Counter(actual), Counter(expected)
    for value in sorted((want - have).elements(), key=repr):
        replay.problem(item_id, f"the log records {what} {_show(value)} but {replay.where} does not have "
                                "it: it was deleted or changed behind the log's back")
    for value in sorted((have - want).elements(), key=repr):
        replay.problem(item_id, f"{what} {_show(value)} is in {replay.where} but no event recorded it: it "
                                "was added or changed behind the log's back")


def _compare_judgments(replay: _Replay, rows: Sequence[Row]) -> None:
    seen: set[int] = set()
    for row in rows:
        number = int(row["id"])
        seen.add(number)
        want = replay.judgments.get(number)
        if want is None:
            if not replay.unreplayed:
                replay.problem(row["a_item"], f"judgment {number} is in {replay.where} but no event "
                                              "recorded it")
            continue
        for col in ("a_item", "a_number", "b_item", "b_number", "verdict", "reason", "by", "undone_by"):
            if not _same(row.get(col), want[col]):
                replay.problem(row["a_item"], f"judgment {number}: {col} is {row.get(col)!r} but the log "
                                              f"(event {want['event']}) says {want[col]!r}")
    for number, want in replay.judgments.items():
        if number not in seen:
            replay.problem(want["a_item"], f"judgment {number} was recorded (event {want['event']}) but is "
                                           f"not in {replay.where}: it was deleted behind the log's back")


def _compare_matches(replay: _Replay, rows: Sequence[Row]) -> None:
    decided: dict[frozenset[str], Row] = {}
    for row in rows:
        if row.get("decided_by") is None:
            continue
        key = frozenset((row["a"], row["b"]))
        decided[key] = row
        if key not in replay.matches:
            if not replay.unreplayed:
                replay.problem(row["a"], f"the match with {row['b'][:12]} is {row['state']} by "
                                         f"{row['decided_by']!r} in {replay.where} but no event recorded it")
            continue
        n, state, actor, reason = replay.matches[key]
        for col, want in (("state", state), ("decided_by", actor), ("reason", reason)):
            if not _same(row.get(col), want):
                replay.problem(row["a"], f"the match with {row['b'][:12]}: {col} is {row.get(col)!r} but the "
                                         f"log (event {n}) says {want!r}")
    for key, (n, state, _, _) in replay.matches.items():
        if key not in decided:
            a, b = sorted(key)
            replay.problem(a, f"the match with {b[:12]} was {state} by a person (event {n}) but "
                              f"{replay.where} holds no such decision")


def _compare_tallies(replay: _Replay, rows: Sequence[Row]) -> None:
    ordered = sorted(rows, key=lambda r: int(r["id"]))
    if len(ordered) != len(replay.tallies) and not replay.unreplayed:
        replay.problem(None, f"{replay.where} holds {len(ordered)} tallies but the log records "
                             f"{len(replay.tallies)} (tally.compute)")
    for row, (n, detail) in zip(ordered, replay.tallies, strict=False):
        for col in ("at_least", "estimate", "at_most", "optimal"):
            if col in detail and not _same(row.get(col), detail[col]):
                replay.problem(None, f"tally {row['id']}: {col} is {row.get(col)!r} but the log (event {n}) "
                                     f"says {detail[col]!r}")


def _compare_users(replay: _Replay, rows: Sequence[Row]) -> None:
    present = set()
    for row in rows:
        present.add(row["name"])
        want = replay.users.get(row["name"])
        if want is None:
            replay.problem(None, f"desk user {row['name']!r} is in {replay.where} but no event added "
                                 "them")
        elif row.get("role") != want[1]:
            replay.problem(None, f"desk user {row['name']!r} is {row.get('role')!r} but the log (event "
                                 f"{want[0]}) says {want[1]!r}")
    for name, (n, _) in replay.users.items():
        if name not in present:
            replay.problem(None, f"desk user {name!r} was added (event {n}) but is not in {replay.where}")


def _pair(a: Any, b: Any) -> tuple[str, int, str, int] | None:
    try:
        a_item, _, a_number = str(a).rpartition(":")
        b_item, _, b_number = str(b).rpartition(":")
        return a_item, int(a_number), b_item, int(b_number)
    except ValueError:
        return None


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(_blank(a) == _blank(b))


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(repr(v) for v in value if v is not None) + ")"
    return repr(value)
