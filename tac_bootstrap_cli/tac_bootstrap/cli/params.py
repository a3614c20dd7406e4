"""Bounded parsers for every numeric and duration option, shared by all commands.

Python's int and float accept values (10**30, inf, nan, 1e309) that later overflow a
timedelta, a C int or SQLite; each parser here refuses them at the command line, naming the
accepted range (a usage error, exit 2). Imported at start-up: standard library and typer only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import typer

MAX_DAYS = 36_500  # a hundred years: older than any orchestrator database
MAX_LIMIT = 1_000_000
MAX_BATCH = 100_000

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_DAYS = {"s": 1 / 86_400, "m": 1 / 1_440, "h": 1 / 24, "d": 1.0, "w": 7.0}
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def count(low: int, high: int) -> Callable[[str], int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        value = str(text).strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", value):
            raise typer.BadParameter(f"{text!r} is not a whole number from {low} to {high}")
        number = int(value)
        if not low <= number <= high:
            raise typer.BadParameter(f"{value} is out of range; use {low} to {high}")
        return number

    return parse


def days(low: float = 0, high: float = MAX_DAYS) -> Callable[[str], float]:
    """A finite number of days in [low, high] (decimals allowed)."""

    def parse(text: str) -> float:
        value = str(text).strip()
        try:
            number = float(value) if len(value) <= 40 else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise typer.BadParameter(f"{text!r} is not a number of days from {low:g} to {high:g}")
        if not low <= number <= high:
            raise typer.BadParameter(f"{value} is out of range; use {low:g} to {high:g} days")
        return number

    return parse


def since(text: str) -> datetime:
    """'30m', '2h', '7d', '1w' before now (at most MAX_DAYS), or an ISO 8601 timestamp."""
    value = str(text).strip()
    match = _DURATION.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        if amount * _UNIT_DAYS[unit] > MAX_DAYS:
            raise typer.BadParameter(
                f"{value} is too long ago; use a duration of at most {MAX_DAYS}d"
            )
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[unit]: amount})
    stamp = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(stamp) if len(stamp) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is not None:
        try:
            return (
                parsed.replace(tzinfo=timezone.utc)
                if parsed.tzinfo is None
                else parsed.astimezone(timezone.utc)
            )
        except (ValueError, OverflowError):  # e.g. 0001-01-01T00:00+01:00 is before year 1 UTC
            raise typer.BadParameter(
                f"{value} is out of range; use a timestamp from 0001-01-01 to 9999-12-31 UTC"
            ) from None
    raise typer.BadParameter(
        f"{text!r} is neither a duration nor a timestamp; use e.g. 30m, 2h, 7d "
        f"(at most {MAX_DAYS}d) or 2026-11-26T10:00:00Z"
    )
