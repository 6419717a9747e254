"""Desk benchmark: server time of the review desk's busiest pages under concurrent reviewers, on SQLite.

    python bench/desk.py [--items 10000] [--tracks 5] [--clients 20] [--requests 300] [--seconds 120]

1. A generated case in a temporary folder: 10,000 items (mostly videos, some images; ids the SHA-256 of an
   index; statuses mixed), one file name each, a source for half of them, the people stage done on each,
   50,000 person tracks (5 per item, a few boxes each, no crops, no embeddings), a few tags, and one
   custody-log event per item, all inserted directly (the evidence files do not exist: no page that serves
   media is measured). The tally is not computed: with more than pages.RECOMPUTE_TRACKS tracks a judgment
   does not recompute it, as on a real case of this size.
2. The desk (`vericount.desk.app.create_app`) runs under uvicorn in a child process on 127.0.0.1, so that
   the clients do not share its interpreter.
3. 20 concurrent clients (threads, one httpx.Client each, over loopback) sign in once as a reviewer, then
   share a fixed list of requests, 300 of each kind in a random order, until it is done or the time limit
   passes: the items list (GET /items?page=N, a random page, a third of them filtered by status, kind or
   "has people"), an item page (GET /items/ID, a random item) and a judgment (POST /judge, two random
   tracks of two random items judged "different"; a 303 is success).
Printed per kind: requests done, errors, p50 and p95 of the server time (the response's Server-Timing
header: from the app receiving the request to its response, waiting for a worker thread or the database
included) and of the client's latency (from sending to the whole body read). Floor (the desk issue): p95
server time under 200 ms for each kind, on SQLite on 2 cores.
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
KINDS = ("list", "item", "judge")
FILTERS = ("status=verified", "status=unreviewed", "kind=image", "people=yes", "kind=video&status=rejected")
TAGS = ("kursk", "drone", "night", "convoy", "geolocated", "duplicate?", "priority")
META = re.compile(r'<meta name="csrf" content="([^"]+)">')
TIMING = re.compile(r"app;dur=([0-9.]+)")


# -- the case ----------------------------------------------------------------------------------------------


def item_id(index: int) -> str:
    return hashlib.sha256(f"bench item {index}".encode()).hexdigest()


def generate(root: Path, n_items: int, per_item: int, seed: int = 7) -> dict[str, Any]:
    """A case of ``n_items`` items with ``per_item`` tracks each, written in bulk. Returns what it holds."""
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
    case = Case.create(root, None, actor="bench")
    start = datetime(2024, 8, 6, tzinfo=UTC)
    items, names, sources, stages, people, tracks, tags = [], [], [], [], [], [], []
    for i in range(n_items):
        sha = item_id(i)
        kind = "image" if rng.random() < 0.2 else "video"
        added = start + timedelta(seconds=37 * i + rng.random())
        status = rng.choices(("unreviewed", "verified", "rejected", "needs-info"), (60, 25, 10, 5))[0]
        ext, media_type = (".jpg", "image/jpeg") if kind == "image" else (".mp4", "video/mp4")
        items.append({"id": sha, "kind": kind, "media_type": media_type,
                      "size": rng.randint(50_000, 400_000_000 if kind == "video" else 5_000_000),
                      "added_at": added, "added_by": "bench", "status": status, "revision": 1,
                      "media_meta": {"width": 1280, "height": 720, "duration": 0.0 if kind == "image" else
                                     round(rng.uniform(5, 180), 2)}})
        name = f"{'IMG' if kind == 'image' else 'VID'}_{20240806 + i // 1000}_{i:05d}{ext}"
        names.append({"item_id": sha, "name": name, "path": f"/evidence/drop/{i // 500:02d}/{name}",
                      "seen_at": added, "seen_by": "bench"})
        if i % 2 == 0:
            sources.append({"item_id": sha, "url": f"https://t.me/channel{i % 40}/{1000 + i}",
                            "platform": "telegram", "account": f"channel{i % 40}",
                            "posted_at": (added - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
                            "notes": None, "added_at": added, "added_by": "bench"})
        stages.append({"item_id": sha, "stage": "people", "status": "done", "version": "bench",
                       "params": {"detector": "bench"}, "params_hash": "0" * 64, "error": None,
                       "detail": f"{per_item} tracks", "updated_at": added, "seconds": 1.0})
        people.append({"item_id": sha, "frames": 1 if kind == "image" else 60, "shots": 1,
                       "detector": "bench", "detections": 0})
        duration = items[-1]["media_meta"]["duration"]
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
            tracks.append({"item_id": sha, "number": number, "source": "detector", "start": boxes[0][0],
                           "end": boxes[-1][0], "frame_width": 1280, "frame_height": 720, "boxes": boxes,
                           "best_t": best[0], "best_box": best[1:5], "crop": None, "created_at": added})
        if rng.random() < 0.08:
            tags.extend({"item_id": sha, "tag": tag, "by": "bench", "at": added}
                        for tag in rng.sample(TAGS, rng.randint(1, 3)))
    with case.session() as s:
        for table, rows in ((Item, items), (ItemName, names), (Source, sources), (StageState, stages),
                            (PeopleItem, people), (PersonTrack, tracks), (Tag, tags)):
            for k in range(0, len(rows), 5000):
                s.execute(insert(table), rows[k:k + 5000])
        for i, row in enumerate(names):  # the custody log an ingest would have written (chained hashes)
            case.record(s, "item.add", row["item_id"], name=row["name"], path=row["path"],
                        size=items[i]["size"], kind=items[i]["kind"], media_type=items[i]["media_type"])
    add_user(case, USER, "reviewer", PASSWORD)
    with case.session() as s:
        held = {"items": s.scalar(select(func.count()).select_from(Item)),
                "tracks": s.scalar(select(func.count()).select_from(PersonTrack)),
                "tags": s.scalar(select(func.count()).select_from(Tag)),
                "events": s.scalar(select(func.count()).select_from(AuditEvent))}
    case.close()
    return held


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
    got = client.post("/login", data={"name": USER, "password": PASSWORD, "next": "/items",
                                      "csrf": login_csrf})
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
    a, b = rng.sample(range(n_items), 2)
    return "POST", "/judge", {"a": f"{item_id(a)}:{rng.randint(1, per_item)}",
                              "b": f"{item_id(b)}:{rng.randint(1, per_item)}", "verdict": "different",
                              "reason": "bench", "back": "/people"}


def load(base: str, n_clients: int, per_kind: int, seconds: float, n_items: int, per_item: int,
         seed: int = 11) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[str]], float, int]:
    """Run the clients; returns per kind the (server ms, client ms) of each success, the errors, the load's
    wall time and the number of requests left undone when the time ran out."""
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--tracks", type=int, default=5, help="person tracks per item")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=300, help="requests of each kind, in all")
    ap.add_argument("--seconds", type=float, default=120.0, help="time limit of the load")
    ap.add_argument("--work", type=Path, default=None, help="where the temporary case goes")
    ap.add_argument("--keep", action="store_true", help="keep the generated case")
    ap.add_argument("--workers", type=int, default=1, help="server processes (vericount serve --workers)")
    args = ap.parse_args()
    print(f"$ python bench/desk.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{os.cpu_count()} cores; {args.clients} clients; {args.requests} requests of each kind; "
          f"time limit {args.seconds:.0f} s")
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="vc-bench-desk-", dir=args.work))
    child = None
    try:
        root = work / "case"
        clock = time.perf_counter()
        held = generate(root, args.items, args.tracks)
        print(f"case: {held['items']} items, {held['tracks']} tracks, {held['tags']} tags, "
              f"{held['events']} custody events; generated in {time.perf_counter() - clock:.1f} s "
              f"({(root / 'case.db').stat().st_size / 1e6:.0f} MB, SQLite)")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        child = serve(str(root), port, args.workers)
        wait_up(base, child)
        times, errors, wall, undone = load(base, args.clients, args.requests, args.seconds, args.items,
                                           args.tracks)
        if errors["sign-in"]:
            raise SystemExit(f"{len(errors['sign-in'])} clients could not sign in: {errors['sign-in'][0]}")
        done = sum(len(v) + len(errors[k]) for k, v in times.items())
        stop = "all requests done" if not undone else f"time limit reached, {undone} requests not sent"
        print(f"load: {done} requests in {wall:.1f} s ({done / wall:.1f}/s); {stop}\n")
        print("| request | done | errors | server p50 ms | server p95 ms | client p50 ms | client p95 ms | "
              f"p95 < {FLOOR_MS:.0f} ms |")
        print("|---|---|---|---|---|---|---|---|")
        failed = False
        labels = {"list": "GET /items?page=N", "item": "GET /items/ID", "judge": "POST /judge"}
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
        print(f"total {time.perf_counter() - began:.0f} s on {os.cpu_count()} cores", flush=True)
        return 1 if failed else 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(10)
        if args.keep:
            print(f"case kept in {work / 'case'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
