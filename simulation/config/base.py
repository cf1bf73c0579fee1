"""Shared pieces of the scenario schema: the frozen base model and month arithmetic."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StringConstraints

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


FIRST_YEAR, LAST_YEAR = 1990, 2100  # start months outside this range are refused (sane calendar arithmetic)


class Frozen(BaseModel):
    """Base of every schema model: unknown keys refused, immutable, no NaN or infinity anywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _number(v: Any) -> Any:
    """A number, not true/false (YAML reads ``yes``/``on`` as true, which would silently become 1.0)."""
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {v!r}")
    return v


def _whole_number(v: Any) -> Any:
    """A whole number: an int, or a float with no fractional part (sweeps and levers hand over 4.0);
    never true/false, text or a fraction (``months: true`` must not run one month)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected an integer (a whole number), got {v!r}")
    if isinstance(v, float):
        if not math.isfinite(v) or not v.is_integer():
            raise ValueError(f"expected an integer (a whole number), got {v!r}")
        return int(v)
    return v


Float = Annotated[float, BeforeValidator(_number)]
Int = Annotated[int, BeforeValidator(_whole_number)]
Bool = StrictBool
# names of labs, blocs, segments and regions: they become parts of dotted paths and table columns
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")]


def _year_month(v: Any) -> str:
    # YAML reads 2026-07 as a string, but be lenient about dates / datetimes written as 2026-07-01.
    s = str(v)
    if re.match(r"^\d{4}-\d{2}-\d{2}", s):
        s = s[:7]
    year, _ = parse_year_month(s)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"expected a month between {FIRST_YEAR}-01 and {LAST_YEAR}-12, got {s!r}")
    return s
