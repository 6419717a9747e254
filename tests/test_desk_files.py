"""The files the desk serves and the pictures it makes: no symbolic link is followed out of the case, a big
image is decoded small or once, and no more than two pictures are decoded at a time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.test_desk import PASSWORD, client, desk, item_id, template  # noqa: F401
from vericount.case import Case

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


def outside_image(tmp_path: Path) -> Path:
    """A JPEG outside the case: what a planted link would show if it were followed."""
    path = tmp_path / "outside" / "private.jpg"
    path.parent.mkdir()
    Image.new("RGB", (300, 200), (255, 0, 0)).save(path)
    return path


def plant(link: Path, target: Path) -> None:
    """Put a symbolic link at ``link`` (replacing the file there), as someone with access to the folder
    could."""
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)  # a read-only original in a writable folder can be unlinked
    link.symlink_to(target)


def test_planted_links_are_not_served(desk: Case, tmp_path: Path) -> None:  # noqa: F811
    c = client(desk, "vic")
    secret = tmp_path / "passwd"
    secret.write_bytes(SECRET)
    photo, biden = item_id(desk, "obama.jpg"), item_id(desk, "biden.jpg")

    plant(desk.derived / "thumbs" / f"{photo}.jpg", secret)  # a "cached thumbnail"
    r = c.get(f"/thumb/{photo}")
    assert r.status_code == 200 and SECRET not in r.content and r.content[:2] == b"\xff\xd8"
    assert not (desk.derived / "thumbs" / f"{photo}.jpg").is_symlink()  # replaced by the real one
    assert secret.read_bytes() == SECRET  # and nothing written through the link

    evidence = desk.evidence.path(biden)
    plant(evidence, secret)  # an "original"
    r = c.get(f"/media/{biden}")
    assert r.status_code == 404 and SECRET not in r.content

    crop = next((desk.derived / "people").rglob("*.jpg"))
    plant(desk.derived / "people" / "linked.jpg", crop)  # a link to a file inside: still a link
    assert c.get("/derived/people/linked.jpg").status_code == 404
    assert c.get(f"/derived/{crop.relative_to(desk.derived)}").status_code == 200


def test_pictures_are_not_made_from_a_linked_original(desk: Case, tmp_path: Path) -> None:  # noqa: F811
    c = client(desk, "vic")
    photo, clip = item_id(desk, "obama2.jpg"), item_id(desk, "clip.mp4")
    plant(desk.evidence.path(photo), outside_image(tmp_path))
    r = c.get(f"/thumb/{photo}")
    assert r.headers["content-type"].startswith("image/svg+xml")  # the placeholder, not the outside image
    assert c.get(f"/frame/{photo}?t=0").status_code == 400

    away = tmp_path / "away"
    away.mkdir()
    thumbs = desk.derived / "thumbs"
    if thumbs.exists():
        for f in thumbs.iterdir():
            f.unlink()
        thumbs.rmdir()
    thumbs.symlink_to(away)  # the thumbnails' folder itself leads out of the case
    r = c.get(f"/thumb/{clip}")
    assert r.status_code == 200 and list(away.iterdir()) == []


def test_a_thumbnail_is_the_picture_made_small_and_upright(desk: Case, tmp_path: Path) -> None:  # noqa: F811
    from vericount.desk.images import jpeg

    sideways = tmp_path / "sideways.jpg"  # 400 x 200 stored, shown 200 x 400 (EXIF orientation 6)
    picture = Image.new("RGB", (400, 200), (0, 0, 255))
    picture.paste((255, 255, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    picture.save(sideways, exif=exif, quality=95)
    small = Image.open(io.BytesIO(jpeg(sideways, "image", 0.0, 240)))
    assert small.size == (120, 240)
    top, bottom = small.getpixel((60, 20)), small.getpixel((60, 220))
    assert top[2] < 80 and top[0] > 200  # yellow left half turned to the top
    assert bottom[2] > 200 and bottom[0] < 80

    palette = tmp_path / "palette.png"
    Image.new("RGB", (3000, 1000), (200, 30, 30)).convert("P").save(palette)
    small = Image.open(io.BytesIO(jpeg(palette, "image", 0.0, 240)))
    assert small.size == (240, 80)
    red = small.getpixel((100, 40))
    assert red[0] > 170 and red[1] < 60


CHILD = textwrap.dedent("""
    import hashlib, re, shutil, sys
    from pathlib import Path
    from fastapi.testclient import TestClient
    from vericount.case import Case
    from vericount.desk.app import create_app
    from vericount.desk.users import add_user
    from vericount.store.schema import Item, utcnow

    big, root = Path(sys.argv[1]), Path(sys.argv[2])
    case = Case.create(root, actor="tester")
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    case.evidence.path(sha).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(big, case.evidence.path(sha))
    with case.session() as s:
        s.add(Item(id=sha, kind="image", media_type="image/png", size=big.stat().st_size,
                   added_at=utcnow(), added_by="tester", status="unreviewed", revision=1))
    add_user(case, "vic", "viewer", "correct horse battery")
    c = TestClient(create_app(case), base_url="http://127.0.0.1")
    form = c.get("/login").cookies.get("vericount_login") or c.cookies.get("vericount_login")
    assert c.post("/login", data={"name": "vic", "password": "correct horse battery", "csrf": form},
                  follow_redirects=False).status_code == 303
    def peak():  # this process's own high-water mark (getrusage's would count the parent's before exec)
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))

    before = peak()
    r = c.get("/thumb/" + sha)
    after = peak()
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text[:200]
    print((after - before) * 1024, before * 1024)
""")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc")
def test_a_big_png_is_decoded_once_not_copied(tmp_path: Path) -> None:
    """A 6000 x 6000 PNG decodes to 144 MB (4 bytes a pixel): the thumbnail request's peak memory stays
    near that, not the several copies a full-size transpose and conversion would add."""
    big = tmp_path / "big.png"
    Image.new("RGB", (6000, 6000), (120, 30, 200)).save(big, compress_level=1)
    decoded = 6000 * 6000 * 4
    import vericount

    src = Path(vericount.__file__).resolve().parents[1]  # the vericount this test runs against
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(big), str(tmp_path / "case")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    grew = int(done.stdout.split()[-2])
    assert grew < 1.35 * decoded, f"peak grew {grew / 1e6:.0f} MB for a {decoded / 1e6:.0f} MB picture"


def test_no_more_than_two_pictures_are_decoded_at_once(desk: Case,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from vericount.desk import images

    running, most = [0], [0]
    lock = threading.Lock()
    real = images.jpeg

    def slow(*args: object) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "jpeg", slow)
    c = client(desk, "vic")
    ids = [item_id(desk, name) for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_and_biden.jpg")]
    codes: list[int] = []

    def get(path: str) -> None:
        codes.append(c.get(path).status_code)

    threads = [threading.Thread(target=get, args=(f"/frame/{i}?t=0",)) for i in ids * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8 and most[0] == images.DECODE_SLOTS == 2

    held = [images.try_slot(desk) for _ in range(images.DECODE_SLOTS)]  # as if another process held them
    assert None not in held and images.try_slot(desk) is None
    monkeypatch.setattr(images, "DECODE_WAIT_S", 0.3)
    try:
        busy = c.get(f"/frame/{ids[0]}?t=0")
        assert busy.status_code == 503 and busy.headers["retry-after"] and "busy" in busy.text
    finally:
        for fd in held:
            assert fd is not None
            os.close(fd)
    assert c.get(f"/frame/{ids[0]}?t=0").status_code == 200
