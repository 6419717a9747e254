"""``vericount verify``: re-hash every stored original and check the custody log's hash chain."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from vericount.case import Case
from vericount.store.audit import check_chain
from vericount.store.schema import Item


@dataclass(frozen=True)
class Problem:
    item: str | None
    problem: str  # missing | altered | unregistered | audit
    detail: str


@dataclass
class VerifyReport:
    checked: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(case: Case, jobs: int = 2, on_start: Callable[[int], None] | None = None,
           on_item: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    with case.session() as s:
        items = list(s.execute(select(Item.id, Item.size).order_by(Item.id)))
        report.problems.extend(
            Problem(None, "audit", f"audit event {p.event_id} {p.problem}") for p in check_chain(s))
    if on_start:
        on_start(sum(size for _, size in items))

    def check(row: tuple[str, int]) -> Problem | None:
        sha, size = row
        path = case.evidence.path(sha)
        try:
            actual = case.evidence.hash_file(sha)
        except FileNotFoundError:
            return Problem(sha, "missing", f"{path} is missing")
        except OSError as exc:
            return Problem(sha, "missing", f"{path} cannot be read: {exc.strerror}")
        finally:
            if on_item:
                on_item(size)
        if actual != sha:
            return Problem(sha, "altered", f"{path} now hashes to {actual}")
        return None

    with ThreadPoolExecutor(max(1, jobs)) as pool:  # hashlib and file reads release the GIL
        for row, problem in zip(items, pool.map(check, items), strict=True):
            report.checked += 1
            report.bytes += row[1]
            if problem:
                report.problems.append(problem)
    known = {sha for sha, _ in items}
    report.problems.extend(
        Problem(sha, "unregistered", f"{case.evidence.path(sha)} is in the store but not in the "
                "database (an interrupted 'add'; run it again to register the file)")
        for sha in case.evidence.stored_hashes() if sha not in known)
    return report
