"""The case at a glance: what it holds, by kind and status, where it came from, what failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from vericount.case import Case
from vericount.store.schema import AuditEvent, Item, Source, StageState


@dataclass(frozen=True)
class Summary:
    root: str
    database: str
    items: int
    bytes: int
    by_kind: dict[str, int]
    by_status: dict[str, int]
    platforms: dict[str, int]
    sources: int
    stages: dict[str, dict[str, int]]
    failures: list[dict[str, str]]
    audit_events: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def summarise(case: Case, max_failures: int = 50) -> Summary:
    with case.session() as s:
        def counts(col: Any) -> dict[str, int]:
            rows = s.execute(select(col, func.count()).group_by(col).order_by(col))
            return {str(k): int(n) for k, n in rows}

        stages: dict[str, dict[str, int]] = {}
        for stage, status, n in s.execute(select(StageState.stage, StageState.status, func.count())
                                          .group_by(StageState.stage, StageState.status)):
            stages.setdefault(stage, {})[status] = int(n)
        failures = [{"item": item_id, "stage": stage, "error": error or ""}
                    for item_id, stage, error in s.execute(
                        select(StageState.item_id, StageState.stage, StageState.error)
                        .where(StageState.status == "failed").order_by(StageState.item_id)
                        .limit(max_failures))]
        platforms = {str(k): int(n) for k, n in s.execute(
            select(Source.platform, func.count(func.distinct(Source.item_id)))
            .where(Source.platform.is_not(None)).group_by(Source.platform))}
        return Summary(
            root=str(case.root), database=case.dialect,
            items=s.scalar(select(func.count()).select_from(Item)) or 0,
            bytes=int(s.scalar(select(func.coalesce(func.sum(Item.size), 0))) or 0),
            by_kind=counts(Item.kind), by_status=counts(Item.status), platforms=platforms,
            sources=s.scalar(select(func.count()).select_from(Source)) or 0,
            stages=stages, failures=failures,
            audit_events=s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )
