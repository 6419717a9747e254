"""The desk's actions (every POST that changes the case) and the files it serves.

Each action's work runs in a worker thread, never on the event loop: a write that waits for the case
database's lock (desk.guard.LOCK_WAIT_S at most, then 503) holds up no other request. Within one process
the actions take turns (a mutex, waited for at most WRITER_WAIT_S, then 503), so they queue in order
instead of polling the database's lock against each other.
"""

from __future__ import annotations

import json
import math
import mimetypes
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vericount.case import Case
from vericount.desk import files, images, pages
from vericount.desk.common import SECURITY_HEADERS, Redirect, Refused, item_ref, local
from vericount.desk.guard import LOCK_WAIT_S, Busy
from vericount.desk.users import Viewer
from vericount.store.schema import Attachment, Item

Acting = Callable[[Request, str], Awaitable[tuple[Viewer, Case, dict[str, str]]]]
ViewerOf = Callable[[Request], Viewer]
Action = Callable[[Case, dict[str, str], str], str]  # (the user's case, the form, the item id) -> where next
MARK_FIELD = 8000  # characters of a mark's points (50 points of [x, y] take about 2,000)
WRITER_WAIT_S = 2 * LOCK_WAIT_S
MAX_TIME = 1e6  # seconds: a frame or mark time past this is refused (no footage is 11 days long)
PLACEHOLDER = (b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"><rect width="160" '
               b'height="90" fill="#ddd"/><text x="80" y="50" font-size="14" text-anchor="middle" '
               b'fill="#666">text</text></svg>')


Post = Callable[[str, str], Callable[[Action], Action]]


def routes(app: FastAPI, acting: Acting) -> None:
    writer = threading.Lock()

    def post(path: str, role: str) -> Callable[[Action], Action]:
        def register(action: Action) -> Action:
            async def handler(request: Request) -> Response:
                _, acase, form = await acting(request, role)
                item_id = request.path_params.get("item_id")
                where = await run_in_threadpool(_in_turn, writer, action, acase, form,
                                                item_ref(item_id) if item_id is not None else "")
                raise Redirect(where)
            handler.__name__ = action.__name__
            app.post(path)(handler)
            return action
        return register

    _item_routes(post)
    _people_routes(post)


def _item_routes(post: Post) -> None:

    @post("/items/{item_id}/status", "reviewer")
    def set_status(acase: Case, form: dict[str, str], item_id: str) -> str:
        from vericount.items import set_status as apply

        apply(acase, item_id, form.get("status", ""), form.get("note"), _revision(form))
        return _back(form, f"/items/{item_id}")

    @post("/items/{item_id}/place", "reviewer")
    def set_place(acase: Case, form: dict[str, str], item_id: str) -> str:
        from vericount.items import Place, When, place

        seen = _revision(form)
        where = when = None
        if form.get("lat", "").strip() or form.get("lon", "").strip():
            where = Place(_number(form, "lat"), _number(form, "lon"),
                          _number(form, "precision") if form.get("precision", "").strip() else None,
                          form.get("geo_method", "").strip() or None)
        if form.get("date_from", "").strip():
            when = When(form["date_from"], form.get("date_to", "").strip() or None,
                        form.get("date_method", "").strip() or None)
        if where is not None or when is not None:
            place(acase, item_id, where, when, seen)
        return f"/items/{item_id}"

    @post("/items/{item_id}/tags", "reviewer")
    def tags(acase: Case, form: dict[str, str], item_id: str) -> str:
        from vericount.items import add_tags, remove_tag

        if form.get("remove"):
            remove_tag(acase, item_id, form["remove"])
        else:
            add_tags(acase, item_id, form.get("tags", "").split(","))
        return f"/items/{item_id}"

    @post("/items/{item_id}/notes", "reviewer")
    def notes(acase: Case, form: dict[str, str], item_id: str) -> str:
        from vericount.items import add_note

        add_note(acase, item_id, form.get("text", ""))
        return f"/items/{item_id}"

    @post("/items/{item_id}/mark", "reviewer")
    def mark(acase: Case, form: dict[str, str], item_id: str) -> str:
        from vericount.people.service import mark as apply

        raw = form.get("points", "[]")
        if len(raw) > MARK_FIELD:
            raise Refused(400, f"points: {len(raw):,} characters is too long for one mark")
        try:
            points = [(float(x), float(y)) for x, y in json.loads(raw)]
        except (ValueError, TypeError, RecursionError) as exc:
            raise Refused(400, f"points: a list of [x, y] fractions is expected ({str(exc)[:80]})") from exc
        t = _number(form, "t", "0")
        apply(acase, item_id, t, points)
        pages.recompute_if_cheap(acase)
        return f"/items/{item_id}?t={t:g}"

    @post("/items/{item_id}/text", "reviewer")
    def mark_text(acase: Case, form: dict[str, str], item_id: str) -> str:
        """A line of on-screen text or transcript marked relevant (the report quotes it), or unmarked."""
        from vericount.text.marks import mark as apply

        try:
            line = int(form.get("line", ""))
        except ValueError as exc:
            raise Refused(400, "line: the id of a line of text is expected") from exc
        apply(acase, [line], relevant=form.get("undo") != "1", item_id=item_id)
        return f"/items/{item_id}#line-{line}"



def _people_routes(post: Post) -> None:

    @post("/judge", "reviewer")
    def judge(acase: Case, form: dict[str, str], _: str) -> str:
        from vericount.tally.service import judge as apply

        verdict = form.get("verdict", "").replace("-", "_")
        apply(acase, form.get("a", ""), form.get("b", ""), verdict, form.get("reason"),
              undo=form.get("undo") == "1")
        pages.recompute_if_cheap(acase)
        return _back(form, "/people")

    @post("/people/accept", "reviewer")
    def accept(acase: Case, form: dict[str, str], _: str) -> str:
        """A proposal accepted as the reviewer left it: the page's crops confirmed but for the flipped ones
        (rejected with their reason), then its group judgment or pair judgment, without the flipped."""
        accept_proposal(acase, form)
        pages.recompute_if_cheap(acase)
        return _back(form, "/people")

    @post("/people/review/undo", "reviewer")
    def undo_review(acase: Case, form: dict[str, str], _: str) -> str:
        from vericount.tally.reviews import review

        review(acase, [form.get("track", "")], form.get("verdict", ""), undo=True)
        pages.recompute_if_cheap(acase)
        return _back(form, "/people")

    @post("/people/group/undo", "reviewer")
    def undo_group(acase: Case, form: dict[str, str], _: str) -> str:
        from vericount.tally.reviews import undo_group as apply

        text = form.get("group", "")
        if not (text.isascii() and text.isdigit() and len(text) <= 12):
            raise Refused(400, f"group {text[:20]!r}: a group judgment's number is expected")
        apply(acase, int(text))
        pages.recompute_if_cheap(acase)
        return _back(form, "/people")

    @post("/tally/compute", "reviewer")
    def compute(acase: Case, form: dict[str, str], _: str) -> str:
        from vericount.tally.service import tally

        tally(acase)
        return _back(form, "/tally")


def accept_proposal(case: Case, form: dict[str, str]) -> None:
    """What /people/accept records. The form: ``page`` (the refs of the crops shown to confirm, comma
    separated), ``seen`` (JSON: each ref's standing review id when the page was drawn), ``flip:REF``
    (``not_person`` or ``twice``; ``flip_reason`` says more), ``steps`` (JSON: the proposal's group and
    pair steps) and ``reason`` (the reviewer's words for a judgment)."""
    from vericount.tally.reviews import group, review_page
    from vericount.tally.service import judge

    page = [r for r in form.get("page", "").split(",") if r]
    seen = _json_field(form, "seen", {})
    steps = _json_field(form, "steps", [])
    if not isinstance(seen, dict) or not all(isinstance(v, int) for v in seen.values()):
        raise Refused(400, "seen: the page's record of what it showed is malformed; reload it")
    if not isinstance(steps, list) or not all(isinstance(st, dict) for st in steps):
        raise Refused(400, "steps: the proposal's steps are malformed; reload the page")
    flipped: dict[str, str] = {}
    extra = form.get("flip_reason", "").strip()
    for ref in page:
        flip = form.get(f"flip:{ref}", "")
        if flip and flip not in pages.FLIPS:
            raise Refused(400, f"flip:{ref[:80]}: one of {', '.join(pages.FLIPS)} is expected")
        if flip:
            flipped[ref] = pages.FLIPS[flip] + (f": {extra}" if extra else "")
    reason = form.get("reason", "").strip()
    judged = [st for st in steps if st.get("do") in ("group", "judge")]
    if any(st.get("verdict") == "different" for st in judged) and not reason:
        raise Refused(400, "a judgment that they are different people needs a reason: what you compared "
                           "and saw")
    if not page and not judged:
        raise Refused(400, "nothing to accept: the page shows no open proposal (reload it)")
    if page:
        review_page(case, [r for r in page if r not in flipped], flipped, seen)
    for st in judged:
        if st["do"] == "group":
            a = [r for r in st.get("a", []) if r not in flipped]
            b = [r for r in st.get("b", []) if r not in flipped]
            if a and (b or len(a) > 1):
                group(case, str(st.get("verdict", "")), a, b, reason)
        elif st.get("a") not in flipped and st.get("b") not in flipped:
            judge(case, str(st.get("a", "")), str(st.get("b", "")), str(st.get("verdict", "")),
                  reason or None)


def _json_field(form: dict[str, str], key: str, default: object) -> object:
    text = form.get(key, "")
    if not text:
        return default
    if len(text) > 400_000:
        raise Refused(400, f"{key}: too long")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"{key}: not valid JSON ({str(exc)[:80]}); reload the page") from exc


def _in_turn(writer: threading.Lock, action: Action, acase: Case, form: dict[str, str], item_id: str) -> str:
    if not writer.acquire(timeout=WRITER_WAIT_S):
        raise Busy("busy with other changes: try again in a moment")
    try:
        return action(acase, form, item_id)
    finally:
        writer.release()


def file_routes(app: FastAPI, case: Case, viewer_of: ViewerOf) -> None:

    @app.get("/media/{item_id}")
    def media(request: Request, item_id: str) -> Response:
        viewer_of(request)
        item_id = item_ref(item_id)
        with case.reading() as s:
            item = s.get(Item, item_id)
            if item is None:
                raise Refused(404, "no such item")
            media_type = item.media_type
        if media_type.startswith("text/html") or "xml" in media_type or "svg" in media_type:
            media_type = "text/plain; charset=utf-8"  # a report's markup is shown, never run
        return _served(case.evidence.root, case.evidence.path(item_id), media_type,
                       {**SECURITY_HEADERS, "Cache-Control": "private, max-age=86400"})

    @app.get("/attachments/{item_id}/{sha}")
    def attachment(request: Request, item_id: str, sha: str) -> Response:
        viewer_of(request)
        item_id, sha = item_ref(item_id), item_ref(sha)
        with case.reading() as s:
            kept = s.scalars(select(Attachment).where(Attachment.item_id == item_id,
                                                      Attachment.sha256 == sha)).first()
            if kept is None:
                raise Refused(404, "no such attachment")
            role, name = kept.role, kept.name
        media_type, inline = ATTACHMENT_TYPES.get(role, ("application/octet-stream", False))
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "attachment"
        disposition = "inline" if inline else f'attachment; filename="{safe}"'
        return _served(case.evidence.root, case.evidence.path(sha), media_type,
                       {**SECURITY_HEADERS, "Content-Disposition": disposition,
                        "Cache-Control": "private, max-age=86400"})

    @app.get("/thumb/{item_id}")
    async def thumb(request: Request, item_id: str) -> Response:
        viewer_of(request)
        item_id = item_ref(item_id)
        path = images.cached_thumbnail(case, item_id)
        if path is None:
            async with images.decode_slot(case):
                path = await run_in_threadpool(images.make_thumbnail, case, item_id)
        if path is None:
            return Response(PLACEHOLDER, media_type="image/svg+xml", headers=SECURITY_HEADERS)
        return _served(case.derived, path, "image/jpeg", {"Cache-Control": "private, max-age=86400"})

    @app.get("/frame/{item_id}")
    async def frame(request: Request, item_id: str, t: str = "0") -> Response:
        viewer_of(request)
        item_id = item_ref(item_id)
        at = _number({"t": t}, "t")
        async with images.decode_slot(case):
            data = await run_in_threadpool(images.frame, case, item_id, at)
        return Response(data, media_type="image/jpeg", headers=SECURITY_HEADERS)

    @app.get("/derived/{rel:path}")
    def derived(request: Request, rel: str) -> Response:
        viewer_of(request)
        media_type = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        if not media_type.startswith("image/") or media_type == "image/svg+xml":
            raise Refused(404, "no such file")
        return _served(case.derived, case.derived / rel, media_type, SECURITY_HEADERS)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise Refused(404, "no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                            headers={"Cache-Control": "public, max-age=3600"})


HERE = Path(__file__).parent
ATTACHMENT_TYPES = {  # role -> (media type served, shown inline); JSON and PEM as plain text, never run
    "screenshot": ("image/png", True), "warc": ("application/warc", False),
    "wacz": ("application/wacz", False), "tls-chain": ("text/plain; charset=utf-8", True),
    "info-json": ("text/plain; charset=utf-8", True), "sidecar": ("text/plain; charset=utf-8", True),
    "export": ("text/plain; charset=utf-8", True), "served-video": ("application/octet-stream", False),
    "served-audio": ("application/octet-stream", False)}
STATIC = {"desk.js": "text/javascript", "desk.css": "text/css"}


def _served(root: Path, path: Path, media_type: str, headers: dict[str, str]) -> Response:
    response = files.file_response(root, path, media_type, headers)
    if response is None:
        raise Refused(404, "no such file")
    return response


def _back(form: dict[str, str], default: str) -> str:
    return local(form.get("back", "")) if form.get("back") else default


def _number(form: dict[str, str], key: str, default: str = "") -> float:
    """A finite number from the form (a time: 0 to MAX_TIME; a coordinate or precision: checked where
    it is used); refused with a plain message otherwise."""
    text = form.get(key, default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (key == "t" and not 0 <= value <= MAX_TIME):
        raise Refused(400, f"{key}: a number is expected, not {text[:40]!r}" if key != "t" else
                      f"t: a time in seconds from 0 to {MAX_TIME:g} is expected, not {text[:40]!r}")
    return value


def _revision(form: dict[str, str]) -> int:
    """The item revision the form was drawn at: the edit is refused (409) if the item has moved on since."""
    text = form.get("revision", "")
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise Refused(400, "the form has no item revision: reload the page")
    return int(text)
