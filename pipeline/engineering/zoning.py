"""Heat network zoning by linear heat density (Scotland's First National Assessment).

A zone's linear heat density is its annual heat demand over the length of road inside
it that pipes may follow. Scotland's First National Assessment of potential heat network
zones (Scottish Government, 2022, under the Heat Networks (Scotland) Act 2021) screens
areas at 4,000 kWh/m/yr (baseline) and 8,000 kWh/m/yr (stringent).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

KWH_PER_MWH = 1000.0
ZONE_CLASSES = ("below", "baseline", "stringent")


def zone_linear_heat_density_kwh_per_m(
    *, annual_demand_mwh: ArrayLike, road_length_m: ArrayLike
) -> np.ndarray:
    """Annual heat demand per metre of followable road in a zone, kWh/m/yr.

    Parameters
    ----------
    annual_demand_mwh
        The zone's annual heat demand, MWh/yr.
    road_length_m
        Length of followable road inside the zone, m.

    Returns
    -------
    kWh per metre per year; NaN for a zone with no road inside (no pipe can be laid
    along a road there, so it has no linear heat density).

    Examples
    --------
    12,000 MWh/yr along 2 km of street is 6,000 kWh/m/yr:

    >>> zone_linear_heat_density_kwh_per_m(
    ...     annual_demand_mwh=[12_000.0, 500.0], road_length_m=[2_000.0, 0.0]).tolist()
    [6000.0, nan]
    """
    demand = np.asarray(annual_demand_mwh, dtype="float64")
    length = np.asarray(road_length_m, dtype="float64")
    safe = np.where(length > 0, length, 1.0)
    return np.where(length > 0, demand * KWH_PER_MWH / safe, np.nan)


def zone_class(
    linear_heat_density_kwh_per_m: ArrayLike,
    *,
    baseline_kwh_per_m: float,
    stringent_kwh_per_m: float,
) -> np.ndarray:
    """``stringent``, ``baseline`` or ``below``: the screening class of each zone.

    A zone at or above ``stringent_kwh_per_m`` is ``stringent``; at or above
    ``baseline_kwh_per_m``, ``baseline``; anything lower, or NaN (no road), ``below``.

    Examples
    --------
    With the First National Assessment's 4,000 and 8,000 kWh/m/yr:

    >>> zone_class([9000.0, 8000.0, 4000.0, 3999.0, float("nan")],
    ...     baseline_kwh_per_m=4000.0, stringent_kwh_per_m=8000.0).tolist()
    ['stringent', 'stringent', 'baseline', 'below', 'below']
    """
    lhd = np.asarray(linear_heat_density_kwh_per_m, dtype="float64")
    with np.errstate(invalid="ignore"):
        level = (lhd >= baseline_kwh_per_m).astype(int) + (lhd >= stringent_kwh_per_m)
    return np.asarray(ZONE_CLASSES, dtype=object)[level]
