"""Parsing and checking values that users give: times, dates, coordinates, statuses."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from vericount.errors import InvalidValue
from vericount.store.schema import STATUSES


def parse_when(value: str, field: str) -> str:
    """A date (``2024-08-07``) or a time with its UTC offset (``2024-08-07T14:03+03:00``, ``...Z``).

    A time without an offset is refused: it would be read as UTC or as local time, and both can be wrong.
    Returns the value in ISO 8601 form.
    """
    text = value.strip()
    if not text:
        raise InvalidValue(f"{field}: empty")
    if len(text) == 10:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidValue(
            f"{field}: {value!r} is not a date (2024-08-07) or an ISO 8601 time "
            "(2024-08-07T14:03:00+03:00)"
        ) from None
    if when.tzinfo is None:
        raise InvalidValue(
            f"{field}: {value!r} has no UTC offset; add one (e.g. {text}+03:00, or {text}Z for UTC)"
        )
    return when.isoformat()


def stored_time(value: str | None) -> datetime | None:
    """A date or time as the case stores it (``parse_when``'s output), as an aware UTC datetime; None when
    absent or unreadable. A date is its midnight, UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_status(value: str) -> str:
    if value not in STATUSES:
        raise InvalidValue(f"status {value!r} is not one of {', '.join(STATUSES)}")
    return value


def check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise InvalidValue(f"latitude {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise InvalidValue(f"longitude {lon} is outside -180..180")


def one_line(text: str) -> str:
    """Make any text (a file name with a newline, say) safe to print on one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
