"""Claims in a case: add reports, the ledger of claims by what they count, and the comparison with the tally.

The CLI and the desk call these functions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vericount.claims.extract import Claim
from vericount.claims.stage import ClaimsStage
from vericount.store.schema import ClaimRow, Item, ReportText, Source

if TYPE_CHECKING:
    from vericount.case import Case
    from vericount.ingest import AddReport
    from vericount.run.executors import Executor
    from vericount.run.runner import StageReport

PEOPLE_NOUNS = {"soldier", "prisoner", "person", "man", "conscript", "civilian", "captive", "fighter",
                "recruit", "mercenary", "woman", "child", "serviceman"}
OUTLET_PLATFORM = "news"


def add_reports(case: Case, paths: list[Path], executor: Executor, outlet: str | None = None,
                url: str | None = None, published: str | None = None, reader: Executor | None = None,
                ) -> tuple[AddReport, StageReport]:
    """Preserve the reports as evidence (hash, custody log) with their outlet, then read their claims with
    ``reader`` (default: ``executor``). The files arrive on this machine, so they are stored by ``executor``
    here; reading them may run on a cluster."""
    from vericount.ingest import add
    from vericount.run.runner import run_stage
    from vericount.sources import source_from_options
    from vericount.values import parse_when

    published = parse_when(published, "--published") if published else None
    source = source_from_options(url, OUTLET_PLATFORM if outlet else None, outlet, published)
    added = add(case, paths, executor, source=source)
    return added, run_stage(case, ClaimsStage(), reader or executor)


@dataclass
class ClaimView:
    """A stored claim with its report, the report's outlet and publication time; the outlet leads ``via``."""

    id: int
    report: str  # the item it was read in: a report, or a photo or video (its caption, screen or speech)
    outlet: str | None
    published: str | None
    claim: Claim
    origin: str = "report"  # report, caption, ocr (on screen), speech (claims/said.py)
    at: float | None = None  # seconds into the video, for a line on screen or said

    def to_json(self) -> dict[str, Any]:
        own = self.claim.to_json()
        del own["vague"]
        return {"id": self.id, "report": self.report, "outlet": self.outlet, "published": self.published,
                "origin": self.origin, "at": self.at, **own}

    @property
    def counts_people(self) -> bool:
        return bool(set(self.claim.subject_key.split()) & PEOPLE_NOUNS)


CLAIM_FIELDS = [f.name for f in fields(Claim)]


def list_claims(case: Case) -> list[ClaimView]:
    """Every claim, in timeline order (the report's publication time, then its place in the report, or the
    time it was said or shown)."""
    with case.session() as s:
        rows = list(s.scalars(select(ClaimRow)))
        ids = sorted({r.item_id for r in rows})
        outlets: dict[str, tuple[str | None, str | None]] = {}
        for src in s.scalars(select(Source).where(Source.item_id.in_(ids))) if ids else []:
            current = outlets.get(src.item_id, (None, None))
            outlets[src.item_id] = (current[0] or (src.account if src.platform == OUTLET_PLATFORM else None),
                                    current[1] or src.posted_at)
        out = []
        for r in rows:
            outlet, published = outlets.get(r.item_id, (None, None))
            claim = Claim(**{name: getattr(r, name) for name in CLAIM_FIELDS})
            claim.via = ([outlet] if outlet else []) + [v for v in r.via if v != outlet]
            claim.hedges = list(r.hedges)
            out.append(ClaimView(r.id, r.item_id, outlet, published, claim, r.origin, r.at))
    out.sort(key=lambda c: (c.published or "9999", c.report, c.at or 0.0, c.claim.start, c.id))
    return out


def ledger(case: Case) -> dict[str, Any]:
    """Claims grouped by what they count, each group in timeline order."""
    claims = list_claims(case)
    groups: dict[str, list[ClaimView]] = defaultdict(list)
    for c in claims:
        groups[c.claim.subject_key].append(c)
    with case.session() as s:
        reports = [{"id": r.item_id, "language": r.language, "sentences": r.sentences, "hedges": r.hedges,
                    "title": r.title} for r in s.scalars(select(ReportText))]
        names = {i.id: i for i in s.scalars(select(Item).where(Item.kind == "text"))}
    return {"claims": [c.to_json() for c in claims],
            "groups": [{"subject": g[0].claim.subject, "key": key, "counts_people": g[0].counts_people,
                        "claims": [c.id for c in g]}
                       for key, g in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))],
            "reports": [r for r in reports if r["id"] in names]}


def compare(case: Case, tally: dict[str, Any]) -> list[dict[str, Any]]:
    """Each claim about people against the certified count: what the case's verified footage supports."""
    n = tally.get("at_least")
    proposed = (tally.get("proposed") or {}).get("at_least")
    open_note = (f"; the machine proposes {proposed}, not certified: reviewers can confirm more"
                 if proposed is not None and n is not None and proposed > n else "")
    out = []
    for view in list_claims(case):
        if not view.counts_people:
            continue
        c = view.claim
        if n is None:
            verdict = "no certified count (blocked by contradicting judgments)"
        elif c.high is not None and c.high < n:
            verdict = f"below the certified count: the verified footage shows at least {n}"
        elif c.low is not None and c.low <= n:
            verdict = f"supported: the verified footage shows at least {n}"
        else:
            verdict = (f"not yet supported: the verified footage shows at least {n} of the {c.quantity} "
                       f"claimed{open_note}")
        out.append({**view.to_json(), "at_least": n, "proposed": proposed, "verdict": verdict})
    return out
