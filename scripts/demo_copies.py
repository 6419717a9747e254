"""Make the reposted copies the demo finds: what platforms and users do to footage.

    python scripts/demo_copies.py OUT_DIR LATER_DIR

Writes, from samples/media: a 3-second excerpt of hamilton_short.mp4 re-encoded at 360 px and mirrored,
a cropped and captioned copy of obama.jpg, a mirrored low-quality copy of biden.jpg, and in LATER_DIR the
clip played small inside a phone's screen recording (bars, a handle above, a caption below), with the
sidecar yt-dlp would have written beside it; in LATER_DIR-telegram, a Telegram Desktop export of a channel
that reposted obama.jpg.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"


def clip(src: Path, dst: Path, start: float, end: float, frame_fn: object) -> None:
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        stream, count, origin = None, 0, None
        for frame in source.decode(video=0):
            origin = float(frame.time or 0) if origin is None else origin
            t = float(frame.time or 0) - origin
            if not start <= t <= end:
                continue
            image = frame_fn(frame.to_image())  # type: ignore[operator]
            image = image.crop((0, 0, image.width // 2 * 2, image.height // 2 * 2))
            if stream is None:
                stream = out.add_stream("libx264", rate=30)
                stream.width, stream.height, stream.pix_fmt = image.width, image.height, "yuv420p"
            new = av.VideoFrame.from_image(image)
            new.pts, count = count, count + 1
            out.mux(stream.encode(new))
        if stream is not None:
            out.mux(stream.encode())


def phone(image: Image.Image) -> Image.Image:
    """A screen recording of the clip played small inside a phone's app: 55% of the screen's width, dark
    bars, the channel's handle above and a caption below."""
    screen = Image.new("RGB", (360, 640), (18, 22, 40))
    small = image.resize((198, round(image.height * 198 / image.width)))
    top = (640 - small.height) // 2
    screen.paste(small, ((360 - small.width) // 2, top))
    draw = ImageDraw.Draw(screen)
    small_font, font = ImageFont.load_default(size=14), ImageFont.load_default(size=22)
    draw.text((12, 10), "9:41", fill=(255, 255, 255), font=small_font)
    draw.text((290, 10), "5G 87%", fill=(255, 255, 255), font=small_font)
    draw.text((81, top - 34), "@kursk_now", fill=(255, 255, 255), font=font)
    draw.text((12, 560), "They surrendered here", fill=(255, 255, 255), font=font)
    return screen


def main(out: Path, later: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    video = SAMPLES / "hamilton_short.mp4"
    clip(video, out / "excerpt_mirrored_360p.mp4", 3.0, 6.0,
         lambda im: ImageOps.mirror(im.resize((640, 360))))
    later.mkdir(parents=True, exist_ok=True)
    clip(video, later / "screen_recording.mp4", 0.0, 9.0, phone)
    # what yt-dlp writes beside a download (--write-info-json): vericount add reads it into the source
    (later / "screen_recording.info.json").write_text(json.dumps({
        "id": "7401234567890123456", "extractor": "TikTok", "extractor_key": "TikTok",
        "webpage_url": "https://www.tiktok.com/@screens/video/7401234567890123456",
        "uploader": "screens", "uploader_id": "@screens", "timestamp": 1723230000, "view_count": 48213,
        "description": "They surrendered here #kursk"}, indent=1))
    # a Telegram Desktop chat export (JSON) of a channel that reposted the photo
    export = later.with_name(later.name + "-telegram")
    (export / "photos").mkdir(parents=True, exist_ok=True)
    small = Image.open(SAMPLES / "obama.jpg").convert("RGB")
    small.resize((small.width // 2, small.height // 2)).save(export / "photos" / "photo_1@09-08-2024.jpg",
                                                             quality=60)
    (export / "result.json").write_text(json.dumps({
        "name": "Front Notes", "type": "public_channel", "id": 1987654321, "messages": [
            {"id": 41, "type": "message", "date": "2024-08-09T21:15:00", "date_unixtime": "1723227300",
             "from": "Front Notes", "forwarded_from": "Some Other Channel",
             "photo": "photos/photo_1@09-08-2024.jpg", "width": 256, "height": 256,
             "text": ["Captured today: ", {"type": "bold", "text": "102"}, " in one day"]},
            {"id": 42, "type": "message", "date": "2024-08-09T21:20:00", "date_unixtime": "1723227600",
             "from": "Front Notes", "text": "More soon"}]}, ensure_ascii=False, indent=1))
    photo = Image.open(SAMPLES / "obama.jpg").convert("RGB")
    w, h = photo.size
    cropped = photo.crop((int(w * 0.15), int(h * 0.05), w, int(h * 0.85)))
    draw = ImageDraw.Draw(cropped)
    draw.rectangle((0, cropped.height - 40, cropped.width, cropped.height), fill=(200, 0, 0))
    draw.text((10, cropped.height - 30), "BREAKING", fill=(255, 255, 255))
    cropped.save(out / "obama_cropped_captioned.jpg", quality=70)
    ImageOps.mirror(Image.open(SAMPLES / "biden.jpg").convert("RGB")).save(out / "biden_mirrored.jpg",
                                                                           quality=30)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
