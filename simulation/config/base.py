"""Shared pieces of the scenario schema: the frozen base model and month arithmetic."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

YEAR_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_year_month(value: str) -> tuple[int, int]:
    """'2026-07' -> (2026, 7)."""
    m = YEAR_MONTH.match(str(value))
    if not m:
        raise ValueError(f"expected a month as 'YYYY-MM', got {value!r}")
    return int(m.group(1)), int(m.group(2))


def months_between(start: str, end: str) -> int:
    """Whole months from ``start`` to ``end`` (both 'YYYY-MM'); negative when end is earlier."""
    (y0, m0), (y1, m1) = parse_year_month(start), parse_year_month(end)
    return (y1 - y0) * 12 + (m1 - m0)


def add_months(start: str, months: int) -> str:
    y, m = parse_year_month(start)
    total = y * 12 + (m - 1) + int(months)
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _year_month(v: Any) -> str:
    # YAML reads 2026-07 as a string, but be lenient about dates / datetimes written as 2026-07-01.
    s = str(v)
    if re.match(r"^\d{4}-\d{2}-\d{2}", s):
        s = s[:7]
    parse_year_month(s)
    return s
