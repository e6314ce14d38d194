"""HubSpot's time formats: epoch milliseconds in storage, ISO-8601 (`2024-01-08T13:52:50.212Z`) on the wire."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from localspot.crm.definitions import ascii_int

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The instants Python's datetime can write out (years 1 to 9999); anything outside is not a valid time.
MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@lru_cache(maxsize=1024)
def iso_from_ms(ms: int) -> str:
    """Always three fractional digits and a `Z`, as HubSpot writes them.

    A batch write answers with the same instant hundreds of times (its records' updatedAt, system
    values): each is formatted once."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_second(seconds)}{millis:03d}Z"


@lru_cache(maxsize=8192)
def _iso_second(seconds: int) -> str:
    # Records written in the same second share it: formatting each second once took this from 17% of
    # a batch upsert's time to almost nothing.
    dt = EPOCH + timedelta(seconds=seconds)
    return f"{dt.year:04d}" + dt.strftime("-%m-%dT%H:%M:%S.")


def parse_instant_ms(raw: str) -> int | None:
    """Epoch ms or an ISO-8601 date/datetime, as HubSpot accepts them; None when it is neither."""
    text = raw.strip()
    ms = ascii_int(text, max_digits=16)  # epoch ms; year 9999 needs 15 digits
    if ms is None:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ms = (dt - EPOCH) // timedelta(milliseconds=1)
    return ms if MIN_MS <= ms <= MAX_MS else None


def parse_midnight_date(raw: str) -> date | None:
    """A `date` property value: `YYYY-MM-DD`, or an instant that falls exactly on midnight UTC."""
    text = raw.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    ms = parse_instant_ms(text)
    if ms is None or ms % 86_400_000 != 0:
        return None
    return (EPOCH + timedelta(milliseconds=ms)).date()
