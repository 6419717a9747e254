"""The review desk's web app: server-rendered pages (Jinja2, autoescaped) and plain HTML forms, with a little
JavaScript (static/desk.js) for keys, frame stepping, the people overlay and marking. Every asset is served
from the package; nothing is fetched from the internet.

Every state-changing request is a POST carrying the session's CSRF token; roles are checked here, on the
server. Item edits carry the item's revision, and a page of track decisions the decisions it showed: a save
made against an older view is refused with the other person's change shown (HTTP 409), never applied over
it, however many server processes (`serve --workers`) take saves at once. What guards the app as a whole (Host
allowlist, body limit, sign-in throttling, busy answers) is in guard.py; the actions are in actions.py.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from vericount.case import Case
from vericount.desk import actions, guard, pages, users
from vericount.desk.common import SECURITY_HEADERS, Redirect, Refused, item_ref, local, read_form
from vericount.desk.users import Viewer
from vericount.errors import Conflict, VericountError
from vericount.store import db
from vericount.store.schema import utcnow

HERE = Path(__file__).parent
COOKIE = "vericount_session"
LOGIN_COOKIE = "vericount_login"
STATIC = {"desk.js": "text/javascript", "desk.css": "text/css"}


def create_app(case: Case, hosts: guard.HostRule | None = None, clock: guard.Clock = utcnow) -> FastAPI:
    """The desk over ``case``. ``hosts``: the Host headers it answers (guard.allowed_hosts; by default the
    loopback names on any port). ``clock``: the time the sign-in throttle reads (tests move it)."""
    app = FastAPI(title="vericount desk", docs_url=None, redoc_url=None, openapi_url=None)
    db.limit_lock_waits(case.engine, guard.LOCK_WAIT_S)
    throttle = guard.Throttle(case, clock)
    app.state.throttle = throttle

    @app.middleware("http")
    async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    app.add_middleware(guard.BodyLimit)
    app.add_middleware(guard.HostGuard, rules=hosts if hosts is not None else guard.allowed_hosts())
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["short"] = lambda s: (s or "")[:12]
    env.filters["clock"] = lambda t: f"{int(t) // 60}:{int(t) % 60:02d}"
    env.globals["urlencode"] = urlencode

    def render(request: Request, viewer: Viewer | None, template: str, status: int = 200,
               headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, viewer=viewer, path=request.url.path,
                                                 **context)
        return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})

    def viewer_of(request: Request) -> Viewer:
        viewer = users.session_user(case, request.cookies.get(COOKIE))
        if viewer is None:
            raise Redirect("/login?" + urlencode({"next": local(str(request.url.path))}))
        return viewer

    async def acting(request: Request, role: str) -> tuple[Viewer, Case, dict[str, str]]:
        """The signed-in user, allowed ``role``, with a valid CSRF token; their case and the form."""
        viewer = viewer_of(request)
        form = await read_form(request)
        token = request.headers.get("x-csrf-token") or form.get("csrf", "")
        if not hmac.compare_digest(token.encode(), viewer.csrf.encode()):
            raise Refused(403, "the form's security token is missing or stale: reload the page and try again")
        if not viewer.can(role):
            raise Refused(403, f"{viewer.name} is a {viewer.role}; this needs a {role}")
        return viewer, case.as_actor(viewer.name), form

    def refusal(request: Request, status: int, message: str, headers: dict[str, str] | None = None,
                **detail: Any) -> Response:
        try:
            viewer = users.session_user(case, request.cookies.get(COOKIE))
        except OperationalError:
            viewer = None
        return render(request, viewer, "refused.html", status=status, headers=headers, message=message,
                      **detail)

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return refusal(request, exc.status, exc.message, **exc.detail)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> Response:
        return refusal(request, 409, str(exc), changes=exc.changes, item_id=exc.item_id, back="/people")

    @app.exception_handler(VericountError)
    async def _invalid(request: Request, exc: VericountError) -> Response:
        return refusal(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _malformed(request: Request, exc: RequestValidationError) -> Response:
        where = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors()) or "the request"
        return refusal(request, 400, f"{where}: not a valid value")

    @app.exception_handler(guard.Busy)
    async def _busy(request: Request, exc: guard.Busy) -> Response:
        return refusal(request, 503, exc.message, {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(OperationalError)
    async def _locked(request: Request, exc: OperationalError) -> Response:
        if not guard.is_lock_wait(exc):
            raise exc
        return refusal(request, 503, "busy, try again: the case database is held by another change",
                       {"Retry-After": str(guard.BUSY_RETRY_S)})

    _sign_in_routes(app, case, render, acting, throttle)
    _page_routes(app, case, render, viewer_of)
    actions.routes(app, acting)
    actions.file_routes(app, case, viewer_of)
    return app


Render = Callable[..., HTMLResponse]
Acting = Callable[[Request, str], Awaitable[tuple[Viewer, Case, dict[str, str]]]]
ViewerOf = Callable[[Request], Viewer]


def _sign_in_routes(app: FastAPI, case: Case, render: Render, acting: Acting,
                    throttle: guard.Throttle) -> None:

    @app.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, None, "login.html", next=local(next), login_csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_tls(request))
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
            raise Refused(403, "the sign-in form is stale: reload it and try again")
        address = request.client.host if request.client is not None else "?"
        try:
            token = await run_in_threadpool(throttle.sign_in, form.get("name", "").strip()[:200],
                                            form.get("password", ""), address)
        except guard.Throttled as exc:
            return render(request, None, "login.html", status=429,
                          headers={"Retry-After": str(exc.retry_after)}, next=local(form.get("next", "/")),
                          login_csrf=expected,
                          error=f"too many failed sign-ins for this name or from this address: try again in "
                                f"{_duration(exc.retry_after)}")
        if token is None:
            return render(request, None, "login.html", status=401, next=local(form.get("next", "/")),
                          login_csrf=expected, error="wrong name or password")
        response = RedirectResponse(local(form.get("next", "/")), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_tls(request),
                            max_age=users.SESSION_DAYS * 86400)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await acting(request, "viewer")
        await run_in_threadpool(users.sign_out, case, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.post("/settings")
    async def settings(request: Request) -> Response:
        viewer, _, form = await acting(request, "viewer")
        await run_in_threadpool(users.save_settings, case, viewer.name,
                                {k: form.get(k) == "on" for k in users.SETTINGS})
        raise Redirect(local(form.get("next", "/")))


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
    app.get("/search")(page("search.html", pages.search_page))

    @app.get("/items/{item_id}")
    def item_page(request: Request, item_id: str) -> Response:
        viewer = viewer_of(request)
        return render(request, viewer, "item.html", **pages.item_page(case, item_ref(item_id),
                                                                      dict(request.query_params)))

    @app.get("/tally/certificate.json")
    def certificate(request: Request) -> Response:
        viewer_of(request)
        latest = pages.latest_tally(case)
        if latest is None or latest.get("certificate") is None:
            raise Refused(404, "no certified tally yet: compute one on the Tally page")
        return JSONResponse(latest["certificate"], headers={
            "Content-Disposition": 'attachment; filename="vericount-certificate.json"'})


def from_environment() -> FastAPI:
    """The app for the case named by $VERICOUNT_CASE, acting as $VERICOUNT_ACTOR, answering the Host
    names in $VERICOUNT_DESK_HOSTS: the factory uvicorn calls in each worker of `serve --workers N`."""
    import json
    import os

    hosts = frozenset((name, port) for name, port in json.loads(os.environ["VERICOUNT_DESK_HOSTS"]))
    return create_app(Case.open(Path(os.environ["VERICOUNT_CASE"]), os.environ.get("VERICOUNT_ACTOR")),
                      hosts=hosts)


def _tls(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
