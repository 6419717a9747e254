"""The review desk's web app: server-rendered pages (Jinja2, autoescaped) and plain HTML forms, with a little
JavaScript (static/desk.js) for keys, frame stepping, the people overlay and marking. Every asset is served
from the package; nothing is fetched from the internet.

Every state-changing request is a POST carrying the session's CSRF token; roles are checked here, on the
server. Item edits carry the item's revision: a save made against an older revision is refused with the
other person's change shown (HTTP 409), never applied over it.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from vericount.case import Case
from vericount.desk import pages, users
from vericount.desk.users import Viewer
from vericount.errors import VericountError
from vericount.store.schema import Item

HERE = Path(__file__).parent
COOKIE = "vericount_session"
LOGIN_COOKIE = "vericount_login"
ITEM_ID = re.compile(r"^[0-9a-f]{64}$")
STATIC = {"desk.js": "text/javascript", "desk.css": "text/css"}


class Redirect(Exception):  # a control-flow signal: answered with a 303
    def __init__(self, url: str) -> None:
        self.url = url


class Refused(Exception):  # answered with the refusal page
    def __init__(self, status: int, message: str, detail: dict[str, Any] | None = None) -> None:
        self.status, self.message, self.detail = status, message, detail or {}


def create_app(case: Case) -> FastAPI:
    app = FastAPI(title="vericount desk", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["short"] = lambda s: (s or "")[:12]
    env.globals["urlencode"] = urlencode

    def render(request: Request, viewer: Viewer | None, template: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, viewer=viewer, path=request.url.path,
                                                 **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def viewer_of(request: Request) -> Viewer:
        viewer = users.session_user(case, request.cookies.get(COOKIE))
        if viewer is None:
            raise Redirect("/login?" + urlencode({"next": _local(str(request.url.path))}))
        return viewer

    async def acting(request: Request, role: str) -> tuple[Viewer, Case, dict[str, str]]:
        """The signed-in user, allowed ``role``, with a valid CSRF token; their case and the form."""
        viewer = viewer_of(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        token = request.headers.get("x-csrf-token") or form.get("csrf", "")
        if not hmac.compare_digest(token.encode(), viewer.csrf.encode()):
            raise Refused(403, "the form's security token is missing or stale: reload the page and try again")
        if not viewer.can(role):
            raise Refused(403, f"{viewer.name} is a {viewer.role}; this needs a {role}")
        return viewer, case.as_actor(viewer.name), form

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        viewer = users.session_user(case, request.cookies.get(COOKIE))
        return render(request, viewer, "refused.html", status=exc.status, message=exc.message, **exc.detail)

    @app.exception_handler(VericountError)
    async def _invalid(request: Request, exc: VericountError) -> Response:
        viewer = users.session_user(case, request.cookies.get(COOKIE))
        return render(request, viewer, "refused.html", status=400, message=str(exc))

    _sign_in_routes(app, case, render, acting)
    _page_routes(app, case, render, viewer_of)
    _action_routes(app, case, acting)
    _people_routes(app, case, acting)
    _file_routes(app, case, viewer_of)
    return app


Render = Callable[..., HTMLResponse]
Acting = Callable[[Request, str], Awaitable[tuple[Viewer, Case, dict[str, str]]]]
ViewerOf = Callable[[Request], Viewer]


def _sign_in_routes(app: FastAPI, case: Case, render: Render, acting: Acting) -> None:

    @app.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, None, "login.html", next=_local(next), login_csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_tls(request))
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
            raise Refused(403, "the sign-in form is stale: reload it and try again")
        token = users.sign_in(case, form.get("name", "").strip(), form.get("password", ""))
        if token is None:
            return render(request, None, "login.html", status=401, next=_local(form.get("next", "/")),
                          login_csrf=expected, error="wrong name or password")
        response = RedirectResponse(_local(form.get("next", "/")), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_tls(request),
                            max_age=users.SESSION_DAYS * 86400)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await acting(request, "viewer")
        users.sign_out(case, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.post("/settings")
    async def settings(request: Request) -> Response:
        viewer, _, form = await acting(request, "viewer")
        users.save_settings(case, viewer.name, {k: form.get(k) == "on" for k in users.SETTINGS})
        raise Redirect(_local(form.get("next", "/")))



def _page_routes(app: FastAPI, case: Case, render: Render, viewer_of: ViewerOf) -> None:

    def page(name: str, builder: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        def handler(request: Request) -> Response:
            viewer = viewer_of(request)
            return render(request, viewer, name, **builder(case, dict(request.query_params)))
        return handler

    app.get("/")(page("dashboard.html", pages.dashboard))
    app.get("/items")(page("items.html", pages.items_page))
    app.get("/people")(page("people.html", pages.people))
    app.get("/tally")(page("tally.html", pages.tally_page))
    app.get("/claims")(page("claims.html", pages.claims_page))
    app.get("/audit")(page("audit.html", pages.audit_page))

    @app.get("/items/{item_id}")
    def item_page(request: Request, item_id: str) -> Response:
        viewer = viewer_of(request)
        return render(request, viewer, "item.html", **pages.item_page(case, _item_id(item_id),
                                                                      dict(request.query_params)))

    @app.get("/tally/certificate.json")
    def certificate(request: Request) -> Response:
        viewer_of(request)
        latest = pages.latest_tally(case)
        if latest is None or latest.get("certificate") is None:
            raise Refused(404, "no certified tally yet: compute one on the Tally page")
        return JSONResponse(latest["certificate"], headers={
            "Content-Disposition": 'attachment; filename="vericount-certificate.json"'})



def _action_routes(app: FastAPI, case: Case, acting: Acting) -> None:

    @app.post("/items/{item_id}/status")
    async def set_status(request: Request, item_id: str) -> Response:
        _, acase, form = await acting(request, "reviewer")
        item_id = _item_id(item_id)
        _check_revision(case, item_id, form)
        from vericount.items import set_status as apply

        apply(acase, item_id, form.get("status", ""), form.get("note"))
        raise Redirect(_back(form, f"/items/{item_id}"))

    @app.post("/items/{item_id}/place")
    async def set_place(request: Request, item_id: str) -> Response:
        _, acase, form = await acting(request, "reviewer")
        item_id = _item_id(item_id)
        _check_revision(case, item_id, form)
        from vericount.items import locate, set_date

        if form.get("lat", "").strip() or form.get("lon", "").strip():
            locate(acase, item_id, _number(form, "lat"), _number(form, "lon"),
                   _number(form, "precision") if form.get("precision", "").strip() else None,
                   form.get("geo_method", "").strip() or None)
        if form.get("date_from", "").strip():
            set_date(acase, item_id, form["date_from"], form.get("date_to", "").strip() or None,
                     form.get("date_method", "").strip() or None)
        raise Redirect(f"/items/{item_id}")

    @app.post("/items/{item_id}/tags")
    async def tags(request: Request, item_id: str) -> Response:
        _, acase, form = await acting(request, "reviewer")
        from vericount.items import add_tags, remove_tag

        if form.get("remove"):
            remove_tag(acase, _item_id(item_id), form["remove"])
        else:
            add_tags(acase, _item_id(item_id), form.get("tags", "").split(","))
        raise Redirect(f"/items/{item_id}")

    @app.post("/items/{item_id}/notes")
    async def notes(request: Request, item_id: str) -> Response:
        _, acase, form = await acting(request, "reviewer")
        from vericount.items import add_note

        add_note(acase, _item_id(item_id), form.get("text", ""))
        raise Redirect(f"/items/{item_id}")



def _people_routes(app: FastAPI, case: Case, acting: Acting) -> None:
    @app.post("/items/{item_id}/mark")
    async def mark(request: Request, item_id: str) -> Response:
        _, acase, form = await acting(request, "reviewer")
        from vericount.people.service import mark as apply

        try:
            points = [(float(x), float(y)) for x, y in json.loads(form.get("points", "[]"))]
            t = float(form.get("t", "0"))
        except (ValueError, TypeError) as exc:
            raise Refused(400, f"points: a list of [x, y] fractions is expected ({exc})") from exc
        apply(acase, _item_id(item_id), t, points)
        pages.recompute_if_cheap(acase)
        raise Redirect(f"/items/{item_id}?t={t:g}")

    @app.post("/judge")
    async def judge(request: Request) -> Response:
        _, acase, form = await acting(request, "reviewer")
        from vericount.tally.service import judge as apply

        verdict = form.get("verdict", "").replace("-", "_")
        apply(acase, form.get("a", ""), form.get("b", ""), verdict, form.get("reason"),
              undo=form.get("undo") == "1")
        pages.recompute_if_cheap(acase)
        raise Redirect(_back(form, "/people"))

    @app.post("/tally/compute")
    async def compute(request: Request) -> Response:
        _, acase, form = await acting(request, "reviewer")
        from vericount.tally.service import tally

        tally(acase)
        raise Redirect(_back(form, "/tally"))



def _file_routes(app: FastAPI, case: Case, viewer_of: ViewerOf) -> None:

    @app.get("/media/{item_id}")
    def media(request: Request, item_id: str) -> Response:
        viewer_of(request)
        item_id = _item_id(item_id)
        with case.reading() as s:
            item = s.get(Item, item_id)
            if item is None:
                raise Refused(404, "no such item")
            media_type = item.media_type
        if media_type.startswith("text/html") or "xml" in media_type or "svg" in media_type:
            media_type = "text/plain; charset=utf-8"  # a report's markup is shown, never run
        return FileResponse(case.evidence.path(item_id), media_type=media_type,
                            headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=86400"})

    @app.get("/thumb/{item_id}")
    def thumb(request: Request, item_id: str) -> Response:
        viewer_of(request)
        path = pages.thumbnail(case, _item_id(item_id))
        if path is None:
            return Response(PLACEHOLDER, media_type="image/svg+xml", headers=SECURITY_HEADERS)
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/frame/{item_id}")
    def frame(request: Request, item_id: str, t: float = 0.0) -> Response:
        viewer_of(request)
        return Response(pages.frame_jpeg(case, _item_id(item_id), t), media_type="image/jpeg",
                        headers=SECURITY_HEADERS)

    @app.get("/derived/{rel:path}")
    def derived(request: Request, rel: str) -> Response:
        viewer_of(request)
        root = case.derived.resolve()
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise Refused(404, "no such file")
        media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if not media_type.startswith("image/") or media_type == "image/svg+xml":
            raise Refused(404, "no such file")
        return FileResponse(target, media_type=media_type, headers=SECURITY_HEADERS)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise Refused(404, "no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                            headers={"Cache-Control": "public, max-age=3600"})


def from_environment() -> FastAPI:
    """The app for the case named by $VERICOUNT_CASE, acting as $VERICOUNT_ACTOR: the factory uvicorn calls
    in each worker process of `vericount serve --workers N`."""
    import os

    return create_app(Case.open(Path(os.environ["VERICOUNT_CASE"]), os.environ.get("VERICOUNT_ACTOR")))


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PLACEHOLDER = (b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"><rect width="160" '
               b'height="90" fill="#ddd"/><text x="80" y="50" font-size="14" text-anchor="middle" '
               b'fill="#666">text</text></svg>')


def _item_id(value: str) -> str:
    if not ITEM_ID.match(value):
        raise Refused(404, "no such item")
    return value


def _local(url: str) -> str:
    """Only paths on this site as redirect targets (no "//evil.example", no "https://...")."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


def _back(form: dict[str, str], default: str) -> str:
    return _local(form.get("back", "")) if form.get("back") else default


def _tls(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _number(form: dict[str, str], key: str) -> float:
    try:
        return float(form.get(key, ""))
    except ValueError as exc:
        raise Refused(400, f"{key}: a number is expected, not {form.get(key, '')[:40]!r}") from exc


def _check_revision(case: Case, item_id: str, form: dict[str, str]) -> None:
    """Refuse a save made on an older view of the item, showing what changed since."""
    try:
        seen = int(form.get("revision", ""))
    except ValueError as exc:
        raise Refused(400, "the form has no item revision: reload the page") from exc
    with case.reading() as s:
        item = s.get(Item, item_id)
        if item is None:
            raise Refused(404, "no such item")
        if item.revision == seen:
            return
        from vericount.store.schema import AuditEvent

        changes = s.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id)
                            .order_by(AuditEvent.id.desc()).limit(max(1, item.revision - seen))).all()
        shown = [{"actor": e.actor, "at": e.at.isoformat(timespec="seconds"), "action": e.action,
                  "detail": {k: v for k, v in e.detail.items() if k != "before"}} for e in changes]
    raise Refused(409, "someone else changed this item after you opened it; nothing was saved. "
                       "Their change is below: reload the item and decide again.",
                  {"changes": shown, "item_id": item_id})
