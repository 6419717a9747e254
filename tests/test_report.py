"""`vericount report`: the PDF's first page carries the headline (rendered with pdftoppm, read back with
tesseract), the HTML stands alone, faces in exported crops are pixelated unless --no-blur, which is
logged and printed; bad options get one line."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "media"
REQUIRE = bool(os.environ.get("VERICOUNT_REQUIRE_SYSTEM"))  # .ci/run: pdftoppm and tesseract must be there


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRE:
            raise RuntimeError(f"VERICOUNT_REQUIRE_SYSTEM is set but {name} is not installed")
        pytest.skip(f"{name} is not installed (apt-get install poppler-utils tesseract-ocr)")
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A SQLite case of the four sample photos, verified, people found; a report with claims; one item
    located and dated. Built once: the people stage is the slow part."""
    from vericount.case import Case

    root = tmp_path_factory.mktemp("report") / "case"
    Case.create(root, None, actor="tester").close()
    cli = Cli(root)
    media = root.parent / "media"
    media.mkdir()
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_and_biden.jpg"):
        shutil.copy(SAMPLES / name, media / name)
    assert cli("add", str(media), "--platform", "x", "--posted-at", "2024-08-08T09:00:00Z").exit_code == 0
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_and_biden.jpg"):
        assert cli("status", name, "verified", "--note", "sample").exit_code == 0
    assert cli("people").exit_code == 0
    out = json.loads(cli("tally", "--json").stdout)  # a reviewer accepts the proposals: people, one pair
    for command in out["proposals"][0]["commands"]:
        assert cli(*command.split()[1:]).exit_code == 0
    pair = next(p for p in json.loads(cli("tally", "--json").stdout)["proposals"] if p["kind"] == "different")
    assert cli("judge", *pair["tracks"], "different", "--reason", "two faces side by side").exit_code == 0
    assert cli("locate", "obama_and_biden.jpg", "50.45", "30.52", "--precision", "50").exit_code == 0
    assert cli("date", "obama.jpg", "2024-08-06").exit_code == 0
    added = cli("claims", "add", str(ROOT / "samples" / "reports" / "example_report.txt"), "--outlet",
                "The Ledger", "--published", "2024-08-14")
    assert added.exit_code == 0, added.output
    return cli


def _write(cli: Cli, out: Path, *extra: str) -> dict[str, object]:
    result = cli("report", "--out", str(out), "--json", *extra)
    assert result.exit_code == 0, result.output
    written: dict[str, object] = json.loads(result.stdout)
    return written


def test_pdf_first_page_carries_the_headline(photos: Cli, tmp_path: Path) -> None:
    pdftoppm, tesseract = _tool("pdftoppm"), _tool("tesseract")
    written = _write(photos, tmp_path / "r")
    assert written["at_least"] == 4 and written["certificate_problems"] == []
    events = json.loads(photos("log", "--action", "tally.compute", "--json").stdout)
    latest = events[-1]["detail"]  # the report's own tally, kept in the history and the log
    assert latest["at_least"] == 4
    pdf = tmp_path / "r" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", "110", "-png", str(pdf), str(tmp_path / "p")],
                   check=True)
    page = next(tmp_path.glob("p-1.png"))
    # the rendered page, to look at (git-ignored), as the desk's browser test keeps its screenshots
    artifacts = Path(os.environ.get("VERICOUNT_ARTIFACTS", ROOT / "test-artifacts")) / "report"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(page, artifacts / "page-1.png")
    with Image.open(page) as img:
        assert img.width > 800 and np.asarray(img.convert("L")).std() > 10  # drawn, not blank
        top = img.crop((0, 0, img.width, img.height // 2))
        top.save(tmp_path / "top.png")
    text = subprocess.run([tesseract, str(tmp_path / "top.png"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "at least 4" in flat, flat
    assert "distinct people in verified footage (certified)" in flat, flat
    figures = re.search(r"\b4 (\d+) (\d+)\b", flat)  # the three figures side by side
    assert figures and (int(figures[1]), int(figures[2])) == (latest["estimate"], latest["at_most"]), flat
    assert "estimate" in flat and "upper bound" in flat
    assert "pixelated" in flat and "NOT BLURRED" not in flat


def test_html_stands_alone(photos: Cli, tmp_path: Path) -> None:
    _write(photos, tmp_path / "r", "--format", "html")
    assert not (tmp_path / "r" / "report.pdf").exists()
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # no external asset
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert all(src.startswith("data:image/jpeg;base64,") for src in re.findall(r'<img src="([^"]+)"', html))
    assert len(re.findall(r"<img ", html)) == 4  # one proof crop per certified person
    assert html.count("<svg") >= 2  # the timeline and the map (one item is located)
    assert "Ukraine" in html  # the map's borders, from the bundled Natural Earth layer
    assert "at least 75" in html and "The Ledger" in html  # the claims table
    assert "nanodet_m.onnx" in html and "onnxruntime " in html  # methods: models and software versions
    assert "fps&#34;: 4.0" in html  # the people stage's sampling rate, from its recorded parameters
    cert = json.loads((tmp_path / "r" / "certificate.json").read_text())
    for member in cert["members"]:  # custody: every item's sha256; the gallery names each member's item
        assert member["item"] in html
    assert photos("tally", "--check", str(tmp_path / "r" / "certificate.json")).exit_code == 0


def _crops(html: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("L"), dtype=np.float64)
            for b64 in re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', html)]


def _face_regions(cli: Cli, cert: dict[str, object], crops: list[np.ndarray]) -> list[tuple[np.ndarray,
                                                                                             np.ndarray]]:
    """(face region in the report's crop, same region of the people stage's own crop), for each member
    whose track has a face seen in its crop."""
    out = []
    members = cert["members"]
    assert isinstance(members, list)
    for member, shown in zip(members, crops, strict=True):
        item, _, number = member["track"].rpartition(":")
        tracks = json.loads(cli("tracks", item, "--json").stdout)["tracks"]
        track = next(t for t in tracks if t["number"] == int(number))
        if not track.get("face_box"):
            continue
        with Image.open(track["crop"]) as img:
            original = np.asarray(img.convert("L").resize((shown.shape[1], shown.shape[0])), dtype=np.float64)
            scale = shown.shape[0] / img.height
        bx0, by0, bx1, by1 = track["best_box"][:4]
        left, top = max(0, int(bx0 - (bx1 - bx0) * 0.05)), max(0, int(by0 - (by1 - by0) * 0.05))
        fx0, fy0, fx1, fy1 = track["face_box"][:4]
        x0, y0 = int((fx0 - left) * scale), int((fy0 - top) * scale)
        x1, y1 = int((fx1 - left) * scale), int((fy1 - top) * scale)
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            out.append((shown[y0:y1, x0:x1], original[y0:y1, x0:x1]))
    return out


def test_faces_in_exported_crops_are_pixelated_unless_no_blur(photos: Cli, tmp_path: Path) -> None:
    _write(photos, tmp_path / "blurred", "--format", "html")
    html = (tmp_path / "blurred" / "report.html").read_text(encoding="utf-8")
    cert = json.loads((tmp_path / "blurred" / "certificate.json").read_text())
    regions = _face_regions(photos, cert, _crops(html))
    assert len(regions) >= 2  # the group photo's faces
    for shown, original in regions:
        assert original.var() > 200  # a face has detail
        assert shown.var() < 0.4 * original.var(), (shown.var(), original.var())
        assert np.abs(np.diff(shown, axis=1)).mean() < 0.35 * np.abs(np.diff(original, axis=1)).mean()
    assert "--no-blur" not in photos("log", "--action", "report").stdout

    pdftotext = _tool("pdftotext")
    written = _write(photos, tmp_path / "raw", "--no-blur")
    assert written["blurred"] is False
    html = (tmp_path / "raw" / "report.html").read_text(encoding="utf-8")
    cert = json.loads((tmp_path / "raw" / "certificate.json").read_text())
    for shown, original in _face_regions(photos, cert, _crops(html)):
        assert shown.var() > 0.8 * original.var()  # only JPEG's loss
    page1 = subprocess.run([pdftotext, "-f", "1", "-l", "1", str(tmp_path / "raw" / "report.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "FACES NOT BLURRED" in page1 and "--no-blur" in page1
    events = json.loads(photos("log", "--action", "report.write", "--json").stdout)
    assert [e["detail"]["blur"] for e in events][-2:] == [True, False]


def test_blur_pixelates_a_person_with_no_face_whole() -> None:
    from vericount.report.blur import blur

    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)  # noise: no face in it
    out = blur(image, people=[(20.0, 20.0, 120.0, 180.0)])
    assert out.faces == [] and out.people == [(20.0, 20.0, 120.0, 180.0)]
    inside, outside = out.image[20:180, 20:120].astype(float), out.image[:, 150:].astype(float)
    assert inside.var() < 0.2 * image[20:180, 20:120].astype(float).var()
    assert np.array_equal(outside, image[:, 150:].astype(float))  # nothing else touched


def test_report_on_both_backends_and_bad_options(cli: Cli, tmp_path: Path) -> None:
    """An empty case still gets a report (no certificate yet); bad options get one line."""
    result = cli("report", "--out", str(tmp_path / "r"), "--format", "html")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "at least 0" in html and "Nothing in the case is dated yet" in html
    hostile = tmp_path / "$\\frac{$ <img src=x onerror=alert(1)>.png"  # HTML, and TeX for matplotlib
    Image.new("RGB", (64, 48), (200, 40, 40)).save(hostile)
    assert cli("add", str(hostile)).exit_code == 0
    assert cli("locate", hostile.name, "50.1", "36.2").exit_code == 0
    result = cli("report", "--out", str(tmp_path / "r2"), "--format", "html")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r2" / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    (tmp_path / "file").write_text("x")
    bad = cli("report", "--out", str(tmp_path / "file"))
    assert bad.exit_code == 1 and "is not a folder" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert cli("report", "--out", str(tmp_path / "x"), "--format", "docx").exit_code == 2


def test_report_quotes_only_the_lines_marked_relevant(cli: Cli, tmp_path: Path) -> None:
    from vericount.case import Case
    from vericount.store.schema import Item
    from vericount.text.lines import Line, replace_lines

    Image.new("RGB", (64, 48), (40, 40, 200)).save(tmp_path / "frame.png")
    assert cli("add", str(tmp_path / "frame.png")).exit_code == 0
    item = json.loads(cli("items", "--json").stdout)[0]["id"]
    with Case.open(cli.case_dir) as case, case.session() as s:
        row = s.get(Item, item)
        assert row is not None
        replace_lines(s, row, "ocr", [Line("we are conscripts <b>from Kursk</b>", 3.0, 5.0, 0.9),
                                      Line("Private Ivan Petrov, home town Sudzha", 7.0, 8.0, 0.9)])
    lines = json.loads(cli("text", item, "--json").stdout)["lines"]
    assert cli("mark-text", str(lines[0]["id"])).exit_code == 0
    assert cli("report", "--out", str(tmp_path / "r"), "--format", "html").exit_code == 0
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'id="excerpts"' in html and "we are conscripts &lt;b&gt;from Kursk&lt;/b&gt;" in html
    assert "0:03" in html and "Ivan Petrov" not in html  # an unmarked line (a name) is never quoted
