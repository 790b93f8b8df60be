"""Duration buckets for the reports' percentiles (docs/reports.md, "Percentiles").

A duration of ``x`` seconds falls in bucket 0 when ``x < 1`` and else in bucket
``1 + floor(ln x / ln R)``: bucket ``b ≥ 1`` holds ``[R**(b-1), R**b)``. A bucket is
reported as its geometric midpoint ``R**(b-1) * sqrt(R)``, so a percentile read from the
buckets is within ``sqrt(R) - 1`` (1.98 % for ``R = 1.04``) of the exact nearest-rank
value; below one second it reads 0 (absolute error under 1 s).

The same expression in SQL (``ln`` on SQLite ≥ 3.35 and PostgreSQL) gives the same
bucket: bench/reports_bench.py derives its rollups that way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

R = 1.04
LOG_R = math.log(R)
MAX_BUCKET = 1000  # R**999 s is far beyond any range a report may cover
RELATIVE_ERROR = math.sqrt(R) - 1  # 0.0198
# A metric with at most this many samples in the range gets exact percentiles (one
# ordered pass over its samples); above it, the histogram.
EXACT_MAX_SAMPLES = 10_000
DAY_SLOTS = 48  # half hours per UTC day: the histogram's time grain
ALL_TEAMS = -1
ALL_CHANNELS = "*"


def bucket(seconds: float) -> int:
    if not seconds >= 1.0:  # also NaN
        return 0
    return min(MAX_BUCKET, 1 + math.floor(math.log(seconds) / LOG_R))


def value(b: int) -> float:
    """The bucket's representative duration (its geometric midpoint)."""
    if b <= 0:
        return 0.0
    return float(R ** (b - 1) * math.sqrt(R))


def sql_bucket(expr: str) -> str:
    """The same bucket as SQL text over a seconds expression (for bulk derivations;
    durations past ``MAX_BUCKET`` are not capped there)."""
    x = f"CAST(({expr}) AS DOUBLE PRECISION)"
    return (
        f"CASE WHEN {x} < 1 THEN 0 ELSE "
        f"1 + CAST(floor(ln({x}) / ln(CAST({R} AS DOUBLE PRECISION))) AS INTEGER) END"
    )


def percentiles(counts: Mapping[int, int], ps: Sequence[float], suffix: str = "") -> dict[str, float | None]:
    """Nearest-rank percentiles (rank ⌈p × n⌉) from bucket counts, as bucket values."""
    n = sum(counts.values())
    names = {f"p{round(p * 100)}{suffix}": max(1, math.ceil(p * n)) for p in ps}
    if n == 0:
        return dict.fromkeys(names)
    out: dict[str, float | None] = {}
    ordered = sorted((b, c) for b, c in counts.items() if c)
    for name, rank in names.items():
        seen = 0
        for b, c in ordered:
            seen += c
            if seen >= rank:
                out[name] = round(value(b), 3)
                break
    return out


def merge(into: dict[int, int], rows: Iterable[tuple[int, int]]) -> dict[int, int]:
    for b, c in rows:
        into[int(b)] = into.get(int(b), 0) + int(c or 0)
    return into
