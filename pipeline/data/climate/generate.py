"""Regenerate hourly_temperature_c.csv: constructed typical-year air temperatures.

A documented construction from monthly climate normals, not measured hourly data
(see README.md beside this file for sources, method and limits). Run from the repo root:
``python pipeline/data/climate/generate.py``. Output is deterministic.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np

HERE = Path(__file__).resolve().parent
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
HOUR_OF_MAX = 15  # local standard time of the daily maximum; minimum 12 h earlier
PERSISTENCE = 0.8  # lag-1 autocorrelation of the daily anomaly order (AR(1))

# climate_id: (seed, monthly mean daily max, monthly mean daily min, sd of daily means)
# Normals 1991-2020; see README.md for which figures are sourced and which are assumed.
CLIMATES: dict[str, tuple[int, tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = {
    "GB-london": (
        1,
        (8.4, 9.0, 11.7, 15.0, 18.4, 21.6, 23.9, 23.4, 20.3, 16.1, 11.6, 8.8),
        (2.4, 2.5, 3.9, 5.6, 8.6, 11.6, 13.9, 13.7, 11.3, 8.6, 5.0, 2.8),
        (3.0, 3.0, 2.6, 2.3, 2.2, 2.2, 2.2, 2.0, 2.0, 2.5, 2.8, 3.0),
    ),
    "FI-helsinki": (
        2,
        (-0.8, -1.6, 2.0, 8.2, 14.6, 18.9, 22.1, 20.6, 15.8, 9.5, 4.7, 1.5),
        (-5.0, -6.0, -3.6, 0.9, 5.8, 10.6, 13.9, 13.1, 8.9, 4.5, 0.9, -2.6),
        (6.0, 5.5, 4.0, 3.0, 3.0, 2.5, 2.3, 2.0, 2.3, 3.0, 3.5, 4.5),
    ),
}


def month_of_day() -> np.ndarray:
    """Month index (0..11) of each of the 365 days."""
    return np.repeat(np.arange(12), DAYS_IN_MONTH)


def daily_means(seed: int, means: np.ndarray, sds: tuple[float, ...]) -> np.ndarray:
    """Daily means: each month's days take the normal quantiles (k - 0.5)/n of that
    month's spread, placed in the rank order of a seeded AR(1) series (spells)."""
    rng = np.random.default_rng(seed)
    order = np.empty(365)
    order[0] = rng.standard_normal()
    for d in range(1, 365):
        order[d] = PERSISTENCE * order[d - 1] + rng.standard_normal()
    out = np.empty(365)
    start = 0
    for m, n in enumerate(DAYS_IN_MONTH):
        z = np.array([NormalDist().inv_cdf((k + 0.5) / n) for k in range(n)])
        ranks = np.argsort(np.argsort(order[start : start + n]))
        out[start : start + n] = means[m] + sds[m] * z[ranks]
        start += n
    return out


def hourly(
    seed: int, tmax: tuple[float, ...], tmin: tuple[float, ...], sds: tuple[float, ...]
) -> np.ndarray:
    """8,760 hourly values: daily means interpolated between noons, a cosine diurnal
    cycle of the month's mean range, then each month shifted back onto its normal mean."""
    hi, lo = np.array(tmax), np.array(tmin)
    means, ranges = (hi + lo) / 2, hi - lo
    days = daily_means(seed, means, sds)
    t = np.arange(8760) / 24.0
    base = np.interp(t, np.arange(365) + 0.5, days)
    month = np.repeat(month_of_day(), 24)
    hour = np.arange(8760) % 24
    diurnal = ranges[month] / 2 * np.cos(2 * math.pi * (hour - HOUR_OF_MAX) / 24)
    temp = base + diurnal
    for m in range(12):
        sel = month == m
        temp[sel] += means[m] - temp[sel].mean()
    return temp


def main() -> None:
    series = {cid: hourly(*spec) for cid, spec in CLIMATES.items()}
    with (HERE / "hourly_temperature_c.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["hour", *series])
        for h in range(8760):
            w.writerow([h, *(f"{s[h]:.1f}" for s in series.values())])


if __name__ == "__main__":
    main()
