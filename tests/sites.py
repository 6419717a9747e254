"""A stand-in site on 127.0.0.1 for the capture tests: a post page, two direct clips, a page of two posts,
a page without media, a slow endpoint, and a members' page that answers only with the right cookie."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.mediagen import make_video

SESSION = "session=s3cret-login-value"
REDIRECTS = {"/to-ftp.mp4": "ftp://127.0.0.1/clip.mp4", "/to-file.mp4": "file:///etc/passwd"}
MPD = """<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1S"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" minBufferTime="PT1S"><Period>
 <AdaptationSet mimeType="video/mp4" contentType="video"><Representation id="v1" codecs="avc1.42c00d"
  width="96" height="64" bandwidth="90000"><BaseURL>dash_video.mp4</BaseURL></Representation></AdaptationSet>
 <AdaptationSet mimeType="audio/mp4" contentType="audio"><Representation id="a1" codecs="mp4a.40.2"
  audioSamplingRate="22050" bandwidth="48000"><BaseURL>dash_audio.m4a</BaseURL></Representation>
 </AdaptationSet>
</Period></MPD>"""


def _dash(root: Path) -> None:
    """A post whose video and audio are served apart (DASH): a video-only MP4, an audio-only M4A."""
    import av
    import numpy as np

    make_video(root / "dash_video.mp4", seconds=1.0, size=(96, 64))
    with av.open(str(root / "dash_audio.m4a"), "w") as out:
        stream = out.add_stream("aac", rate=22050, layout="mono")
        tone = (0.3 * np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt", layout="mono")
            frame.sample_rate, frame.pts = 22050, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    (root / "post.mpd").write_text(MPD)


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(3)
        if self.path in REDIRECTS:  # a link that leads off the web: refused, never followed
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/members/") and SESSION not in (self.headers.get("Cookie") or ""):
            self.send_error(403)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) breaks the pipe: not the test's output


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    make_video(root / "clip_a.mp4", seconds=1.0, size=(96, 64))
    make_video(root / "clip_b.mp4", seconds=1.5, size=(128, 96))
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "post.html").write_text(
        f'<html><head><title>Column near Sudzha</title><meta property="og:video" content="{base}/clip_a.mp4">'
        '</head><body><video src="clip_a.mp4" controls></video></body></html>')
    (root / "two.html").write_text('<html><head><title>Two</title></head><body><video src="clip_a.mp4">'
                                   '</video><video src="clip_b.mp4"></video></body></html>')
    (root / "empty.html").write_text("<html><head><title>Nothing</title></head><body>text only</body></html>")
    (root / "slow").mkdir()
    (root / "members").mkdir()
    make_video(root / "members" / "m.mp4", seconds=1.0, size=(112, 80))
    _dash(root)
    (root / "long.html").write_text('<html><head><title>Long</title></head><body><video src="clip_b.mp4">'
                                    '</video><div style="height:20000px;background:#8a8">feed</div>'
                                    '</body></html>')
    (root / "members" / "post.html").write_text(
        '<html><head><title>Members only</title></head><body><video src="m.mp4"></video></body></html>')
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
