"""Desk benchmark: server time of the review desk's busiest pages under concurrent reviewers, on SQLite or
PostgreSQL.

    python bench/desk.py [--items 10000] [--tracks 5] [--clients 20] [--requests 300] [--seconds 120]
                         [--workers 1] [--db postgresql://USER:PASSWORD@HOST:PORT/DB] [--pace 0 ...]

    issue 22's size: --db postgresql://... --items 100000 --tracks 5 --workers 2 --pace 0 --pace 2

1. A generated case in a temporary folder, its database SQLite (case.db) or, with --db, a new database
   made on that PostgreSQL server (dropped at the end unless --keep): 10,000 items by default (mostly
   videos, some images; ids the SHA-256 of an index; statuses mixed), one file name each, a source for
   half of them, the people stage done on each, 5 person tracks per item (a few boxes each and a score, no
   crops, no embeddings), a few tags, and one custody-log event per item. The rows are written in bulk,
   5,000 items a transaction (executemany on SQLite, COPY on PostgreSQL, then VACUUM ANALYZE); the evidence
   files do not exist, so no page that serves media is measured. The tally is not computed: with more than
   pages.RECOMPUTE_TRACKS tracks a judgment does not recompute it, as on a real case of this size.
2. The desk runs as `vericount serve --workers N` (uvicorn, N server processes; 1 by default) in child
   processes on 127.0.0.1, so that the clients do not share its interpreter.
3. 20 concurrent clients (threads, one httpx.Client each, over loopback) sign in once as a reviewer, then
   share a fixed list of requests, 300 of each kind in a random order, until it is done or the time limit
   passes: the items list (GET /items?page=N, a random page, a third of them filtered by status, kind or
   "has people"), an item page (GET /items/ID, a random item), the people page (GET /people, or half the
   time GET /people?item=ID: a random item's crops to confirm) and a judgment (POST /judge, two random
   tracks of two random items judged "different"; a 303 is success). By default each client sends its next
   request as soon as the last is answered (a closed loop: 20 clients keep 20 requests in flight, far more
   than 20 reviewers who read what they get); with --pace P each pauses 0 to 2P seconds (P on average)
   first. Several --pace values run one load after the other on the same case and desk.
Printed per kind: requests done, errors, p50 and p95 of the server time (the response's Server-Timing
header: from the app receiving the request to its response, waiting for a worker thread, the writers' turn
or the database included) and of the client's latency (from sending to the whole body read). Floor (issue
22, and the desk issue before it on SQLite): p95 server time under 200 ms for each kind.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

FLOOR_MS = 200.0
USER, PASSWORD = "bench-reviewer", "bench-password"
KINDS = ("list", "item", "people", "judge")
FILTERS = ("status=verified", "status=unreviewed", "kind=image", "people=yes", "kind=video&status=rejected")
TAGS = ("kursk", "drone", "night", "convoy", "geolocated", "duplicate?", "priority")
META = re.compile(r'<meta name="csrf" content="([^"]+)">')
TIMING = re.compile(r"app;dur=([0-9.]+)")


# -- the case ----------------------------------------------------------------------------------------------


def item_id(index: int) -> str:
    return hashlib.sha256(f"bench item {index}".encode()).hexdigest()


CHUNK = 5000  # items generated and written per transaction


def generate(root: Path, n_items: int, per_item: int, db_url: str | None = None,
             seed: int = 7) -> dict[str, Any]:
    """A case of ``n_items`` items with ``per_item`` tracks each, on SQLite (``db_url`` None) or the given
    database, written in bulk (executemany, CHUNK items a transaction). Returns what it holds."""
    from sqlalchemy import func, insert, select

    from vericount.case import Case
    from vericount.desk.users import add_user
    from vericount.store.schema import (
        AuditEvent,
        Item,
        ItemName,
        PeopleItem,
        PersonTrack,
        Source,
        StageState,
        Tag,
    )

    rng = random.Random(seed)
    case = Case.create(root, db_url, actor="bench")
    for first in range(0, n_items, CHUNK):
        rows = _rows(rng, range(first, min(n_items, first + CHUNK)), per_item)
        with case.session() as s:
            for table in (Item, ItemName, Source, StageState, PeopleItem, PersonTrack, Tag):
                if not rows[table.__tablename__]:
                    continue
                if case.dialect == "postgresql":
                    copy(s, table, rows[table.__tablename__])
                else:
                    s.execute(insert(table), rows[table.__tablename__])
            for item, name in zip(rows["items"], rows["item_names"], strict=True):
                # the custody log an ingest would have written (chained hashes)
                case.record(s, "item.add", item["id"], name=name["name"], path=name["path"],
                            size=item["size"], kind=item["kind"], media_type=item["media_type"])
    add_user(case, USER, "reviewer", PASSWORD)
    if case.dialect == "postgresql":  # as after a bulk load: the planner's statistics brought up to date
        with case.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    with case.session() as s:
        held = {"items": s.scalar(select(func.count()).select_from(Item)),
                "tracks": s.scalar(select(func.count()).select_from(PersonTrack)),
                "tags": s.scalar(select(func.count()).select_from(Tag)),
                "events": s.scalar(select(func.count()).select_from(AuditEvent))}
    case.close()
    return held


def copy(s: Any, mapped: Any, rows: list[dict[str, Any]]) -> None:
    """``rows`` (by attribute name) into ``mapped``'s table with PostgreSQL's COPY, in the session's
    transaction, each value as its column's type binds it (JSON as text, times as ISO 8601 text)."""
    from sqlalchemy import inspect

    attributes = list(rows[0])
    columns = [inspect(mapped).attrs[name].columns[0] for name in attributes]
    binds = [c.type.bind_processor(s.get_bind().dialect) for c in columns]
    quoted = ", ".join(f'"{c.name}"' for c in columns)  # "end" is a keyword
    sql = f"COPY {mapped.__tablename__} ({quoted}) FROM STDIN"
    with s.connection().connection.driver_connection.cursor() as cur, cur.copy(sql) as out:
        for row in rows:
            out.write_row([v if bind is None or v is None else bind(v)
                           for v, bind in zip((row[name] for name in attributes), binds, strict=True)])


def _rows(rng: random.Random, indexes: range, per_item: int) -> dict[str, list[dict[str, Any]]]:
    """The rows of the items ``indexes``, by table name."""
    start = datetime(2024, 8, 6, tzinfo=UTC)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "items", "item_names", "sources", "stage_states", "people_items", "tracks", "tags")}
    for i in indexes:
        sha = item_id(i)
        kind = "image" if rng.random() < 0.2 else "video"
        added = start + timedelta(seconds=37 * i + rng.random())
        status = rng.choices(("unreviewed", "verified", "rejected", "needs-info"), (60, 25, 10, 5))[0]
        ext, media_type = (".jpg", "image/jpeg") if kind == "image" else (".mp4", "video/mp4")
        duration = 0.0 if kind == "image" else round(rng.uniform(5, 180), 2)
        out["items"].append({"id": sha, "kind": kind, "media_type": media_type,
                             "size": rng.randint(50_000, 400_000_000 if kind == "video" else 5_000_000),
                             "added_at": added, "added_by": "bench", "status": status, "revision": 1,
                             "media_meta": {"width": 1280, "height": 720, "duration": duration}})
        name = f"{'IMG' if kind == 'image' else 'VID'}_{20240806 + i // 1000}_{i:06d}{ext}"
        out["item_names"].append({"item_id": sha, "name": name, "seen_at": added, "seen_by": "bench",
                                  "path": f"/evidence/drop/{i // 500:03d}/{name}"})
        if i % 2 == 0:
            out["sources"].append({"item_id": sha, "url": f"https://t.me/channel{i % 40}/{1000 + i}",
                                   "platform": "telegram", "account": f"channel{i % 40}",
                                   "posted_at": (added - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
                                   "notes": None, "added_at": added, "added_by": "bench"})
        out["stage_states"].append({"item_id": sha, "stage": "people", "status": "done", "version": "bench",
                                   "params": {"detector": "bench"}, "params_hash": "0" * 64, "error": None,
                                   "detail": f"{per_item} tracks", "updated_at": added, "seconds": 1.0})
        out["people_items"].append({"item_id": sha, "frames": 1 if kind == "image" else 60, "shots": 1,
                                    "detector": "bench", "detections": 0})
        for number in range(1, per_item + 1):
            t0 = 0.0 if kind == "image" else round(rng.uniform(0, max(0.0, duration - 2)), 2)
            seen = 1 if kind == "image" else rng.randint(2, 6)
            x, y = rng.uniform(0, 1100), rng.uniform(0, 400)
            w, h = rng.uniform(40, 160), rng.uniform(120, 300)
            boxes = []
            for k in range(seen):
                x = min(1240.0, max(0.0, x + rng.uniform(-15, 15)))
                y = min(420.0, max(0.0, y + rng.uniform(-8, 8)))
                boxes.append([round(t0 + 0.5 * k, 2), round(x, 1), round(y, 1), round(min(1280.0, x + w), 1),
                              round(min(720.0, y + h), 1), round(rng.uniform(0.3, 0.95), 3)])
            best = max(boxes, key=lambda b: b[5])
            out["tracks"].append({
                "item_id": sha, "number": number, "source": "detector", "start": boxes[0][0],
                "end": boxes[-1][0], "frame_width": 1280, "frame_height": 720, "boxes": boxes,
                "best_t": best[0], "best_box": best[1:5], "score": best[5], "crop": None,
                "created_at": added})
        if rng.random() < 0.08:
            out["tags"].extend({"item_id": sha, "tag": tag, "by": "bench", "at": added}
                               for tag in rng.sample(TAGS, rng.randint(1, 3)))
    return out


# -- the server --------------------------------------------------------------------------------------------


def serve(root: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """`vericount serve` on 127.0.0.1:port, in its own process(es), as a team would run it."""
    command = [sys.executable, "-m", "vericount", "--case", root, "--actor", "bench", "serve", "--port",
               str(port), "--workers", str(workers)]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(base: str, child: Any, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the desk exited with {child.returncode}")
        try:
            if httpx.get(f"{base}/login", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the desk did not answer on {base} in {timeout:.0f} s")


# -- the clients -------------------------------------------------------------------------------------------


def sign_in(client: Any) -> str:
    """Sign in as the bench reviewer; returns the session's CSRF token. The list and an item are opened
    once (not counted), so that the templates are compiled before the clock starts."""
    client.get("/login").raise_for_status()
    login_csrf = client.cookies.get("vericount_login")
    for _ in range(30):  # twenty at once are more than the desk checks passwords for at a time: it says 503
        got = client.post("/login", data={"name": USER, "password": PASSWORD, "next": "/items",
                                          "csrf": login_csrf})
        if got.status_code != 503:
            break
        time.sleep(float(got.headers.get("retry-after", "1")))
    if got.status_code != 303 or "vericount_session" not in client.cookies:
        raise SystemExit(f"sign-in failed: HTTP {got.status_code}")
    page = client.get("/items")
    found = META.search(page.text)
    if page.status_code != 200 or found is None:
        raise SystemExit(f"no CSRF token on /items after sign-in (HTTP {page.status_code})")
    client.get(f"/items/{item_id(0)}").raise_for_status()
    return found.group(1)


def request_of(kind: str, rng: random.Random, n_items: int, per_item: int,
               pages: int) -> tuple[str, str, Any]:
    """(method, url, form) of one request of ``kind``."""
    if kind == "list":
        url = f"/items?page={rng.randint(1, pages)}"
        if rng.random() < 1 / 3:
            url = f"/items?page={rng.randint(1, 10)}&{rng.choice(FILTERS)}"  # a filter has fewer pages
        return "GET", url, None
    if kind == "item":
        return "GET", f"/items/{item_id(rng.randrange(n_items))}", None
    if kind == "people":  # the people page, opened on a random item's crops to confirm half the time
        item = item_id(rng.randrange(n_items))
        return "GET", f"/people?item={item}" if rng.random() < 0.5 else "/people", None
    a, b = rng.sample(range(n_items), 2)
    return "POST", "/judge", {"a": f"{item_id(a)}:{rng.randint(1, per_item)}",
                              "b": f"{item_id(b)}:{rng.randint(1, per_item)}", "verdict": "different",
                              "reason": "bench", "back": "/people"}


def load(base: str, n_clients: int, per_kind: int, seconds: float, n_items: int, per_item: int,
         seed: int = 11, pace: float = 0.0,
         ) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[str]], float, int]:
    """Run the clients; returns per kind the (server ms, client ms) of each success, the errors, the load's
    wall time and the number of requests left undone when the time ran out. With ``pace``, each client
    pauses between 0 and 2 x ``pace`` seconds (``pace`` on average) after each answer, as a reviewer reads
    the page before the next click; 0 sends the next request at once."""
    import httpx

    from vericount.desk.pages import PAGE

    rng = random.Random(seed)
    todo = [kind for kind in KINDS for _ in range(per_kind)]
    rng.shuffle(todo)
    pages = max(1, -(-n_items // PAGE))
    lock = threading.Lock()
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}
    errors: dict[str, list[str]] = {k: [] for k in (*KINDS, "sign-in")}
    clock: list[float] = []
    ready = threading.Barrier(n_clients + 1, action=lambda: clock.append(time.monotonic()))

    def client_loop(number: int) -> None:
        local = random.Random(seed * 1000 + number)
        with httpx.Client(base_url=base, follow_redirects=False, timeout=60.0) as client:
            try:
                csrf = sign_in(client)
            except (SystemExit, httpx.HTTPError) as exc:
                with lock:
                    errors["sign-in"].append(str(exc))
                return
            finally:
                ready.wait()
            while True:
                with lock:
                    if not todo or time.monotonic() > clock[0] + seconds:
                        return
                    kind = todo.pop()
                if pace > 0:
                    time.sleep(local.uniform(0, 2 * pace))
                method, url, form = request_of(kind, local, n_items, per_item, pages)
                if form is not None:
                    form["csrf"] = csrf
                sent = time.perf_counter()
                try:
                    got = client.request(method, url, data=form)
                except httpx.HTTPError as exc:
                    with lock:
                        errors[kind].append(f"{type(exc).__name__}: {exc}")
                    continue
                took = (time.perf_counter() - sent) * 1000
                ok = got.status_code == (303 if kind == "judge" else 200)
                timing = TIMING.search(got.headers.get("server-timing", ""))
                with lock:
                    if ok and timing is not None:
                        times[kind].append((float(timing.group(1)), took))
                    else:
                        errors[kind].append(f"HTTP {got.status_code} {method} {url}")

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(n_clients)]
    for thread in threads:
        thread.start()
    ready.wait()  # every client signed in: the clock starts
    for thread in threads:
        thread.join()
    return times, errors, time.monotonic() - clock[0], len(todo)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))]


# -- main --------------------------------------------------------------------------------------------------


def measure(base: str, args: argparse.Namespace, pace: float, number: int) -> bool:
    """One load on the running desk; prints its table; True when every kind meets the floor."""
    times, errors, wall, undone = load(base, args.clients, args.requests, args.seconds, args.items,
                                       args.tracks, seed=11 + number, pace=pace)
    if errors["sign-in"]:
        raise SystemExit(f"{len(errors['sign-in'])} clients could not sign in: {errors['sign-in'][0]}")
    done = sum(len(v) + len(errors[k]) for k, v in times.items())
    stop = "all requests done" if not undone else f"time limit reached, {undone} requests not sent"
    paced = (f"each client pausing {pace:g} s on average between requests" if pace > 0 else
             "each client sending its next request at once")
    print(f"\nload {number + 1}, {paced}: {done} requests in {wall:.1f} s ({done / wall:.1f}/s); {stop}\n")
    print("| request | done | errors | server p50 ms | server p95 ms | client p50 ms | client p95 ms | "
          f"p95 < {FLOOR_MS:.0f} ms |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    labels = {"list": "GET /items?page=N", "item": "GET /items/ID", "people": "GET /people[?item=ID]",
              "judge": "POST /judge"}
    for kind in KINDS:
        server = [t[0] for t in times[kind]]
        client = [t[1] for t in times[kind]]
        p95 = percentile(server, 95)
        ok = bool(server) and p95 < FLOOR_MS and not errors[kind]
        failed |= not ok
        print(f"| {labels[kind]} | {len(server)} | {len(errors[kind])} | {percentile(server, 50):.1f} | "
              f"{p95:.1f} | {percentile(client, 50):.1f} | {percentile(client, 95):.1f} | "
              f"{'PASS' if ok else 'FAIL'} |")
    for kind in KINDS:
        for line in sorted(set(errors[kind]))[:5]:
            print(f"  error ({kind}): {line}")
    verdict = "FAIL" if failed else "PASS"
    print(f"\nfloor: p95 server time < {FLOOR_MS:.0f} ms for each request: {verdict}")
    return not failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--tracks", type=int, default=5, help="person tracks per item")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=300, help="requests of each kind, in all")
    ap.add_argument("--seconds", type=float, default=120.0, help="time limit of the load")
    ap.add_argument("--work", type=Path, default=None, help="where the temporary case goes")
    ap.add_argument("--keep", action="store_true", help="keep the generated case (and its database)")
    ap.add_argument("--workers", type=int, default=1, help="server processes (vericount serve --workers)")
    ap.add_argument("--pace", type=float, action="append", default=None, metavar="SECONDS",
                    help="each client's mean pause between requests (repeatable: one load after the other "
                         "on the same case); default 0, the next request at once")
    ap.add_argument("--db", default=None, metavar="postgresql://USER:PASSWORD@HOST:PORT/DB",
                    help="a PostgreSQL server: the case goes in a new database made there (and dropped "
                         "afterwards); by default the case is on SQLite")
    args = ap.parse_args()
    print(f"$ python bench/desk.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{os.cpu_count()} cores; {args.clients} clients; {args.requests} requests of each kind; "
          f"{args.workers} server process(es); time limit {args.seconds:.0f} s")
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="vc-bench-desk-", dir=args.work))
    child = None
    database = make_database(args.db) if args.db else None
    try:
        root = work / "case"
        clock = time.perf_counter()
        held = generate(root, args.items, args.tracks, database)
        where = (f"PostgreSQL {server_version(database)}" if database else
                 f"SQLite, {(root / 'case.db').stat().st_size / 1e6:.0f} MB")
        print(f"case: {held['items']} items, {held['tracks']} tracks, {held['tags']} tags, "
              f"{held['events']} custody events; generated in {time.perf_counter() - clock:.1f} s ({where})")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        child = serve(str(root), port, args.workers)
        wait_up(base, child)
        failed = False
        for number, pace in enumerate(args.pace or [0.0]):
            failed |= not measure(base, args, pace, number)
        print(f"total {time.perf_counter() - began:.0f} s on {os.cpu_count()} cores", flush=True)
        return 1 if failed else 0
        return 1 if failed else 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(10)
        if args.keep:
            print(f"case kept in {work / 'case'}" + (f", its database {database}" if database else ""))
        else:
            shutil.rmtree(work, ignore_errors=True)
            if database:
                drop_database(args.db, database)


# -- PostgreSQL ----------------------------------------------------------------------------------------------


def _admin(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_database(server: str) -> str:
    """A new database on the server ``server`` names (its URL's own database is only connected to)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"vc_bench_desk_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(_admin(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(_admin(server)).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, database: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(database).database
    with psycopg.connect(_admin(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(database: str) -> str:
    import psycopg

    with psycopg.connect(database) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
