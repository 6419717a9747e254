"""The review desk in a real browser: Debian's chromium driven by Playwright (headless, no sandbox), against
`vericount serve`'s app on loopback. Screenshots go to test-artifacts/desk/ (or $VERICOUNT_ARTIFACTS).

Skipped when chromium or Playwright is absent, unless VERICOUNT_REQUIRE_BROWSER=1 (CI sets it)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_desk import PASSWORD, template  # noqa: F401 - the shared case fixture
from vericount.case import Case

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("VERICOUNT_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))


def _browser_or_skip() -> None:
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        if os.environ.get("VERICOUNT_REQUIRE_BROWSER") == "1":
            pytest.fail("browser tests required but missing: " + ", ".join(missing))
        pytest.skip("no browser: " + ", ".join(missing))


@pytest.fixture
def server(template: Path, tmp_path: Path) -> Iterator[tuple[str, Case]]:  # noqa: F811
    _browser_or_skip()
    import uvicorn

    from vericount.desk.app import create_app

    shutil.copytree(template, tmp_path / "case")
    case = Case.open(tmp_path / "case", actor="tester")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(case), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the desk did not start"
    try:
        yield f"http://127.0.0.1:{port}", case
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        case.close()


def test_a_review_in_the_browser(server: tuple[str, Case]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from vericount.items import show
    from vericount.tally.reviews import review, review_states
    from vericount.tally.service import tally

    url, case = server
    group = show(case, "obama_and_biden.jpg").id
    review(case, [group], "person", undo=True)  # its people: proposals nobody has looked at yet
    tally(case)
    shots = ARTIFACTS / "desk"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # sign in
        page.goto(url + "/items")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fitems"))
        page.fill("input[name=name]", "rey")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:text('Sign in')")
        expect(page).to_have_url(re.compile(r"/items$"))
        page.screenshot(path=str(shots / "1-items.png"), full_page=True)

        # review an item with the keyboard: j selects the first row, Enter opens it, v asks for a note
        page.goto(url + "/items?status=unreviewed&kind=image")
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/items/[0-9a-f]{64}$"))
        page.keyboard.press("?")
        expect(page.locator("#keys")).to_be_visible()
        page.keyboard.press("Escape")
        page.keyboard.press("v")
        expect(page.locator("#status-note")).to_be_focused()
        page.keyboard.type("checked against the original upload")
        page.keyboard.press("Escape")
        page.keyboard.press("v")
        expect(page.locator("#status")).to_have_text("verified")
        expect(page.locator("#status-note")).to_have_value("checked against the original upload")
        page.screenshot(path=str(shots / "2-item-verified.png"), full_page=True)
        page.keyboard.press("j")  # on to the next item
        expect(page).to_have_url(re.compile(r"/items/[0-9a-f]{64}$"))

        # mark a person the detector missed, on a paused frame of the video
        page.goto(url + "/items?kind=video")
        page.click("a:text('clip.mp4')")
        expect(page.locator("h2:text('People (0 tracks)')")).to_be_visible()
        page.wait_for_function("document.querySelector('#player').readyState >= 1")
        page.click("#frame-forward")
        page.click("#mark-start")
        box = page.locator("#overlay").bounding_box()
        assert box is not None and box["width"] > 10
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
        expect(page.locator("#mark-count")).to_have_text("1")
        page.screenshot(path=str(shots / "3-marking.png"))
        page.click("#mark-save")
        expect(page.locator("h2:text('People (1 tracks)')")).to_be_visible()

        # confirm the people of the group photo as one page of crops, the surest first: the doubtful one (a
        # box on Biden's raised arm) comes last and already flipped; the reviewer flips the first one too
        page.goto(url + f"/items/{group}")
        page.click("#confirm-item")
        expect(page.locator("#confirm-grid .crop")).to_have_count(5)
        expect(page.locator("#confirm-grid .crop.flipped")).to_have_count(1)
        expect(page.locator("#confirm-grid .crop").last).to_have_class(re.compile("flipped"))
        expect(page.locator("#confirm-grid .crop").last.locator(".score.doubtful")).to_be_visible()
        page.locator("#confirm-grid .crop").first.locator("img").click()
        expect(page.locator("#confirm-grid .crop.flipped")).to_have_count(2)
        page.screenshot(path=str(shots / "4-confirm-page.png"), full_page=True)
        with page.expect_navigation():
            page.keyboard.press("c")
        states = {r["track"]: r["decision"] for r in review_states(case)}
        assert [states[f"{group}:{n}"] for n in range(1, 6)] == [
            "not_person", "person", "person", "not_person", "person"]
        page.goto(url + "/")
        before = int(page.locator("#at-least").inner_text())

        # the top proposal now: a group judgment, one look at the faces side by side; c asks for the reason
        page.goto(url + "/people")
        expect(page.locator("#set-b .crop").first).to_be_visible()
        page.keyboard.press("c")
        expect(page.locator("#accept-reason")).to_be_focused()
        page.keyboard.type("faces side by side: another man")
        page.keyboard.press("Escape")
        with page.expect_navigation():
            page.keyboard.press("c")
        expect(page.locator("h1")).to_have_text("People")
        page.goto(url + "/")
        expect(page.locator("#at-least")).to_have_text(str(before + 1))
        page.screenshot(path=str(shots / "4-dashboard.png"), full_page=True)
        page.goto(url + "/people")
        page.screenshot(path=str(shots / "5-people.png"), full_page=True)
        expect(page.locator("#groups")).to_contain_text("faces side by side: another man")
        page.goto(url + "/tally")
        expect(page.locator(".crop")).to_have_count(before + 1)
        page.screenshot(path=str(shots / "6-tally.png"), full_page=True)
        browser.close()
    assert not errors, errors
    from vericount.tally.reviews import list_groups

    assert [(g["by"], g["reason"]) for g in list_groups(case)] == [("rey", "faces side by side: another man")]
