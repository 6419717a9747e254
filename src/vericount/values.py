"""Parsing and checking values that users give: times, dates, coordinates, statuses; and JSON that is
always standard (no NaN or Infinity, which Python's json writes unless told not to)."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

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


# Half the Earth's circumference at the equator: no place on Earth is farther than this from a guess.
MAX_PRECISION_M = 20_037_509.0


def check_lat_lon(lat: float, lon: float) -> None:
    for name, value, limit in (("latitude", lat, 90), ("longitude", lon, 180)):
        if not math.isfinite(value):
            raise InvalidValue(f"{name} {value} is not a number of degrees")
        if not -limit <= value <= limit:
            raise InvalidValue(f"{name} {value} is outside -{limit}..{limit}")


def check_precision(precision_m: float | None) -> None:
    """A geolocation's precision: a finite number of metres above 0, at most half the Earth round."""
    if precision_m is None:
        return
    if not (math.isfinite(precision_m) and 0 < precision_m <= MAX_PRECISION_M):
        raise InvalidValue(f"precision {precision_m} m: give a number of metres above 0 and at most "
                           f"{MAX_PRECISION_M:,.0f} (half the Earth's circumference)")


def strict_json(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that refuses NaN and infinity (standard JSON has neither), naming where one is."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        found = _non_finite(value, "")
        if found is None:
            raise
        where, number = found
        raise InvalidValue(f"{where or 'the value'} is {number}, not a finite number: JSON cannot hold "
                           "NaN or infinity") from None


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (which Python reads, and standard JSON has not)."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise InvalidValue(f"holds {name}, which is not standard JSON (not a finite number)")


def _non_finite(value: Any, where: str) -> tuple[str, float] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    children: Any = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list | tuple) else ())
    for key, child in children:
        found = _non_finite(child, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def one_line(text: str) -> str:
    """Make any text (a file name with a newline, say) safe to print on one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
