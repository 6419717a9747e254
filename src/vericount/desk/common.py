"""What the desk's modules share: the control-flow exceptions the app answers, the security headers, item
ids and local redirect targets."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

ITEM_ID = re.compile(r"^[0-9a-f]{64}$")


class Redirect(Exception):  # a control-flow signal: answered with a 303
    def __init__(self, url: str) -> None:
        self.url = url


class Refused(Exception):  # answered with the refusal page
    def __init__(self, status: int, message: str, detail: dict[str, Any] | None = None) -> None:
        self.status, self.message, self.detail = status, message, detail or {}


async def read_form(request: Request) -> dict[str, str]:
    """The form's text fields (files are not taken: the desk has no uploads)."""
    return {k: v for k, v in (await request.form(max_files=0)).items() if isinstance(v, str)}


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def item_ref(value: str) -> str:
    if not ITEM_ID.match(value):
        raise Refused(404, "no such item")
    return value


def local(url: str) -> str:
    """Only paths on this site as redirect targets: no "//evil.example", "/\\evil.example", "https://...",
    and no control characters or spaces (browsers drop tabs and newlines from a URL before reading it)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url or \
            any(ord(c) < 0x21 or ord(c) == 0x7F for c in url) or len(url) > 2000:
        return "/"
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else "/"


