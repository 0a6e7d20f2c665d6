"""Night dates: the night is named by the date of its evening."""

from __future__ import annotations

import datetime as dt
import re

from lstosa_snake.core.errors import ConfigError

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_night_date(value) -> dt.date:
    """Parse a night date given as YYYY-MM-DD or YYYYMMDD; refuse anything else.

    Accepting only these two shapes also keeps path tricks (``../``, absolute
    paths) out of every directory name built from the date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigError(f"night date must be YYYY-MM-DD or YYYYMMDD, got {value!r}")
    text = value.strip()
    match = _ISO.match(text) or _COMPACT.match(text)
    if not match:
        raise ConfigError(f"night date must be YYYY-MM-DD or YYYYMMDD, got {value!r}")
    year, month, day = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ConfigError(f"night date {value!r} is not a calendar date: {exc}") from None


def compact(date: dt.date) -> str:
    """YYYYMMDD, as used in LST directory and file names."""
    return date.strftime("%Y%m%d")


def previous_nights(date: dt.date, count: int) -> list[dt.date]:
    """The ``count`` nights before ``date``, most recent first."""
    return [date - dt.timedelta(days=i) for i in range(1, count + 1)]


def default_night(now: dt.datetime | None = None) -> dt.date:
    """The night to process in the morning: the previous evening's date (UTC)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return (now - dt.timedelta(days=1)).date()
