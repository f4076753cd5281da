"""Capital cost of a demand zone's own distribution network, from its heat density.

The transmission link ends at the zone's edge. Inside the zone a distribution network
(street mains and service pipes) carries the heat to each building. Its capital cost is
estimated here with the model of Persson & Werner (2011), in the form the Hotmaps
calculation module "District heating potential: economic assessment" uses it:

- plot ratio e = building floor area / land area = (heat per land m²) / q, where q is the
  specific heat demand per m² of floor area (an assumption, set in the config);
- effective width w = land area / trench length: w = 137.5·e + 5 m for e ≤ 0.4, and
  w = 60 m above;
- linear heat density Q/L = e·q·w, GJ per trench metre a year;
- average pipe diameter d_a = 0.0486·ln(Q/L) + 0.0007 m, not below 0.02 m;
- construction cost C1 + C2·d_a per trench metre by area type
  (:func:`pipeline.engineering.cost.persson_werner_pipe_cost_eur_per_m`);
- distribution capital cost per unit of heat = CRF·(C1 + C2·d_a) / (Q/L).

Costs are in EUR at 2007 prices (Persson & Werner's), before any conversion to the output
basis with :mod:`pipeline.engineering.prices`.

Units: 1 MWh = 3.6 GJ, 1 ha = 10,000 m², so a heat density of 1 MWh/ha a year is
0.00036 GJ/m² and 1 kWh/m² is 0.0036 GJ/m².

References
----------
Persson, U. and Werner, S. (2011). Heat distribution and the future competitiveness of
district heating. *Applied Energy* 88(3), 568-576. (C1, C2; d_a; the cost per GJ.)

Persson, U., Wiechers, E., Möller, B. and Werner, S. (2019). Heat Roadmap Europe: Heat
distribution costs. *Energy* 176, 604-622. (Effective width and the 0.02 m minimum
diameter below 1.5 GJ/m, as cited in the Hotmaps code.)

Hotmaps, calculation module ``dh_economic_assessment`` (TU Wien, M. Fallahnejad),
``CM_TUW23/f2_investment.py``: the implementation this module follows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.engineering.cost import (
    PERSSON_WERNER_EUR2007_PER_M,
    persson_werner_pipe_cost_eur_per_m,
)
from pipeline.engineering.water import FloatOrArray, _nonnegative, _positive

GJ_PER_MWH = 3.6
M2_PER_HA = 10_000.0
KWH_PER_MWH = 1_000.0

SPECIFIC_DEMAND_KWH_PER_M2 = 140.0
"""A default specific heat demand per m² of floor area, kWh/m² a year (≈ 0.5 GJ/m²).
**Assumption** of the order of the existing European building stock (space heating and
hot water); set it per region. It sets the plot ratio, and so the effective width, only
where the plot ratio is at most 0.4: above that the cost does not depend on it."""

EFFECTIVE_WIDTH_SLOPE_M = 137.5
EFFECTIVE_WIDTH_INTERCEPT_M = 5.0
EFFECTIVE_WIDTH_DENSE_M = 60.0
EFFECTIVE_WIDTH_KNEE_PLOT_RATIO = 0.4
"""w = 137.5·e + 5 m for e ≤ 0.4, else 60 m (the two meet at e = 0.4). Hotmaps
``f2_investment.py``, which attributes it to Persson et al. (2019)."""

DIAMETER_SLOPE_M = 0.0486
DIAMETER_INTERCEPT_M = 0.0007
"""d_a = 0.0486·ln(Q/L) + 0.0007 m, Q/L in GJ/m a year (Persson & Werner 2011; the
defaults ``dA_slope``, ``dA_intercept`` of the Hotmaps code)."""

MIN_DIAMETER_M = 0.02
"""Smallest average pipe diameter. Persson et al. (2019), as quoted in the Hotmaps code,
apply 0.02 m below a linear heat density of 1.5 GJ/m; here the floor is max(d_a, 0.02),
which differs only between 1.49 and 1.5 GJ/m (by under 0.0005 m) and keeps the cost
continuous."""

AREA_TYPE_PLOT_RATIOS = (0.3, 0.5)
"""Plot ratios at which :func:`area_type_for_plot_ratio` moves from park to outer city and
from outer city to inner city: the thresholds of an earlier Hotmaps version
(``cost_factors``, now commented out in ``f2_investment.py``)."""


def plot_ratio(
    annual_demand_mwh: ArrayLike, area_ha: ArrayLike, *, specific_demand_kwh_per_m2: float
) -> FloatOrArray:
    """Plot ratio of a zone: its building floor area over its land area.

    e = heat density / q = (annual demand / land area) / (demand per m² of floor area).

    Parameters
    ----------
    annual_demand_mwh
        Heat demand of the zone a year, ≥ 0.
    area_ha
        Land area of the zone, > 0.
    specific_demand_kwh_per_m2
        Heat demand per m² of floor area a year, q, > 0 (e.g.
        :data:`SPECIFIC_DEMAND_KWH_PER_M2`).

    Returns
    -------
    The plot ratio e, m² of floor per m² of land.

    Raises
    ------
    ValueError
        If the demand is negative, or the area or the specific demand is not positive.

    Examples
    --------
    40 GWh a year on 40 ha is 1,000 MWh/ha = 100 kWh per m² of land; at 140 kWh per m²
    of floor, e = 100 / 140 = 0.714.

    >>> round(float(plot_ratio(40_000.0, 40.0, specific_demand_kwh_per_m2=140.0)), 3)
    0.714
    """
    demand = _nonnegative("annual_demand_mwh", annual_demand_mwh)
    area = _positive("area_ha", area_ha)
    q = _positive("specific_demand_kwh_per_m2", specific_demand_kwh_per_m2)
    kwh_per_m2_land = demand * KWH_PER_MWH / (area * M2_PER_HA)
    return (kwh_per_m2_land / q)[()]


def effective_width_m(plot_ratio: ArrayLike) -> FloatOrArray:
    """Effective width of a district-heating area: land area per trench metre.

    w = 137.5·e + 5 for e ≤ 0.4, and 60 above (Persson et al. 2019, as in Hotmaps).
    The trench length of an area is its land area / w.

    Parameters
    ----------
    plot_ratio
        Plot ratio e, ≥ 0.

    Returns
    -------
    Effective width in m (m² of land per m of trench).

    Raises
    ------
    ValueError
        If a plot ratio is negative.

    Examples
    --------
    e = 0.2: 137.5 × 0.2 + 5 = 32.5 m; e = 0.4: 137.5 × 0.4 + 5 = 60 m; e = 2.5: 60 m.

    >>> effective_width_m([0.2, 0.4, 2.5]).tolist()
    [32.5, 60.0, 60.0]
    """
    e = _nonnegative("plot_ratio", plot_ratio)
    sparse = EFFECTIVE_WIDTH_SLOPE_M * e + EFFECTIVE_WIDTH_INTERCEPT_M
    return np.where(e <= EFFECTIVE_WIDTH_KNEE_PLOT_RATIO, sparse, EFFECTIVE_WIDTH_DENSE_M)[()]


def linear_heat_density_gj_per_m(
    annual_demand_mwh: ArrayLike, area_ha: ArrayLike, *, specific_demand_kwh_per_m2: float
) -> FloatOrArray:
    """Heat delivered a year per metre of distribution trench, Q/L = e·q·w.

    e·q is the heat per m² of land, so Q/L = (annual demand / land area) × w(e).

    Parameters
    ----------
    annual_demand_mwh, area_ha, specific_demand_kwh_per_m2
        The zone's demand a year (MWh, ≥ 0), its land area (ha, > 0) and its demand per
        m² of floor area a year (kWh/m², > 0), as in :func:`plot_ratio`.

    Returns
    -------
    Linear heat density in GJ per trench metre a year.

    Raises
    ------
    ValueError
        As :func:`plot_ratio`.

    Examples
    --------
    40 GWh on 40 ha: 1,000 MWh/ha × 0.00036 = 0.36 GJ per m² of land; e = 0.714 > 0.4
    so w = 60 m; Q/L = 0.36 × 60 = 21.6 GJ/m.

    >>> round(float(linear_heat_density_gj_per_m(
    ...     40_000.0, 40.0, specific_demand_kwh_per_m2=140.0)), 2)
    21.6
    """
    e = plot_ratio(
        annual_demand_mwh, area_ha, specific_demand_kwh_per_m2=specific_demand_kwh_per_m2
    )
    gj_per_m2_land = (
        np.asarray(annual_demand_mwh, dtype=float) * GJ_PER_MWH / (np.asarray(area_ha) * M2_PER_HA)
    )
    return (gj_per_m2_land * effective_width_m(e))[()]


def average_pipe_diameter_m(
    linear_heat_density_gj_per_m: ArrayLike, *, min_diameter_m: float = MIN_DIAMETER_M
) -> FloatOrArray:
    """Average inner pipe diameter of a distribution network from its linear heat density.

    d_a = max(0.0486·ln(Q/L) + 0.0007, d_min), Q/L in GJ/m a year (Persson & Werner 2011;
    the floor d_min = 0.02 m from Persson et al. 2019).

    Parameters
    ----------
    linear_heat_density_gj_per_m
        Q/L, heat a year per trench metre, ≥ 0. Zero gives the floor.
    min_diameter_m
        The floor d_min, ≥ 0; default :data:`MIN_DIAMETER_M`.

    Returns
    -------
    Average pipe diameter in m.

    Raises
    ------
    ValueError
        If the linear heat density or the floor is negative.

    Examples
    --------
    21.6 GJ/m: 0.0486 × ln 21.6 + 0.0007 = 0.0486 × 3.0727 + 0.0007 = 0.1500 m.
    1.28 GJ/m: 0.0486 × 0.2469 + 0.0007 = 0.0127 m, below the floor, so 0.02 m.

    >>> average_pipe_diameter_m([21.6, 1.28]).round(4).tolist()
    [0.15, 0.02]
    """
    lhd = _nonnegative("linear_heat_density_gj_per_m", linear_heat_density_gj_per_m)
    floor = _nonnegative("min_diameter_m", min_diameter_m)
    # ln(0) is -inf: take the log only where Q/L > 0; the floor applies elsewhere.
    log_lhd = np.log(np.where(lhd > 0, lhd, 1.0))
    fitted = np.where(lhd > 0, DIAMETER_SLOPE_M * log_lhd + DIAMETER_INTERCEPT_M, -np.inf)
    return np.maximum(fitted, floor)[()]


def area_type_for_plot_ratio(plot_ratio: ArrayLike) -> str | NDArray[np.str_]:
    """Persson & Werner area type for a plot ratio, by the thresholds of Hotmaps.

    park for e < 0.3, outer city for 0.3 ≤ e < 0.5, inner city for e ≥ 0.5
    (:data:`AREA_TYPE_PLOT_RATIOS`). The cost per MWh jumps up where the type changes,
    so a zone's cost is monotone in its heat density only within one area type.

    Parameters
    ----------
    plot_ratio
        Plot ratio e, ≥ 0.

    Returns
    -------
    ``park``, ``outer_city`` or ``inner_city`` (an array of them for an array).

    Raises
    ------
    ValueError
        If a plot ratio is negative.

    Examples
    --------
    >>> area_type_for_plot_ratio([0.12, 0.4, 2.5]).tolist()
    ['park', 'outer_city', 'inner_city']
    """
    e = _nonnegative("plot_ratio", plot_ratio)
    outer, inner = AREA_TYPE_PLOT_RATIOS
    types = np.select([e < outer, e < inner], ["park", "outer_city"], "inner_city")
    return str(types) if types.ndim == 0 else types


def _construction_cost_eur_per_m(
    diameter_m: NDArray[np.float64], area_type: ArrayLike
) -> NDArray[np.float64]:
    """C1 + C2·d_a for one area type, or for an array of them element by element."""
    types = np.asarray(area_type)
    if types.ndim == 0:
        return np.asarray(persson_werner_pipe_cost_eur_per_m(diameter_m, area_type=str(types)))
    unknown = sorted(set(types.ravel().tolist()) - set(PERSSON_WERNER_EUR2007_PER_M))
    if unknown:
        raise ValueError(
            f"unknown area type {unknown[0]!r}; use one of "
            + ", ".join(PERSSON_WERNER_EUR2007_PER_M)
        )
    shape = np.broadcast_shapes(diameter_m.shape, types.shape)
    cost = np.zeros(shape)
    for name in set(types.ravel().tolist()):
        per_m = persson_werner_pipe_cost_eur_per_m(diameter_m, area_type=name)
        cost = np.where(types == name, per_m, cost)
    return cost


def distribution_capex_eur(
    annual_demand_mwh: ArrayLike,
    area_ha: ArrayLike,
    *,
    specific_demand_kwh_per_m2: float,
    area_type: str | ArrayLike,
    min_diameter_m: float = MIN_DIAMETER_M,
) -> FloatOrArray:
    """Capital cost of a zone's whole distribution network (Persson & Werner 2011).

    capex = trench length × (C1 + C2·d_a), trench length = land area / w(e), with e, w,
    d_a as in :func:`plot_ratio`, :func:`effective_width_m` and
    :func:`average_pipe_diameter_m`. A zone with no demand has no network (capex 0).

    Parameters
    ----------
    annual_demand_mwh, area_ha, specific_demand_kwh_per_m2
        The zone's demand a year (MWh, ≥ 0), its land area (ha, > 0) and its demand per
        m² of floor area a year (kWh/m², > 0), as in :func:`plot_ratio`.
    area_type
        ``inner_city``, ``outer_city`` or ``park`` (C1, C2 of
        :data:`~pipeline.engineering.cost.PERSSON_WERNER_EUR2007_PER_M`), or an array of
        them, one a zone; :func:`area_type_for_plot_ratio` gives one from the plot ratio.
    min_diameter_m
        Floor of the average pipe diameter, default 0.02 m.

    Returns
    -------
    Capital cost in EUR at 2007 prices.

    Raises
    ------
    ValueError
        For an unknown area type, or inputs as in :func:`plot_ratio`.

    Examples
    --------
    40 GWh on 40 ha, outer city: w = 60 m, so 400,000 m² / 60 = 6,666.7 m of trench;
    d_a = 0.1500 m (Q/L = 21.6 GJ/m), C = 214 + 1725 × 0.1500 = 472.8 EUR/m;
    capex = 6,666.7 × 472.8 = 3.152 M EUR.

    >>> round(float(distribution_capex_eur(
    ...     40_000.0, 40.0, specific_demand_kwh_per_m2=140.0, area_type="outer_city")), -3)
    3152000.0

    A dense Helsinki-region block, 196 GWh on 56 ha, inner city: 350 kWh per m² of land,
    e = 2.5, w = 60 m, 9,333.3 m of trench; Q/L = 1.26 × 60 = 75.6 GJ/m,
    d_a = 0.0486 × ln 75.6 + 0.0007 = 0.2109 m, C = 286 + 2022 × 0.2109 = 712.5 EUR/m;
    capex = 9,333.3 × 712.5 = 6.650 M EUR.

    >>> round(float(distribution_capex_eur(
    ...     196_000.0, 56.0, specific_demand_kwh_per_m2=140.0, area_type="inner_city")), -3)
    6650000.0
    """
    demand = _nonnegative("annual_demand_mwh", annual_demand_mwh)
    e = plot_ratio(demand, area_ha, specific_demand_kwh_per_m2=specific_demand_kwh_per_m2)
    lhd = linear_heat_density_gj_per_m(
        demand, area_ha, specific_demand_kwh_per_m2=specific_demand_kwh_per_m2
    )
    diameter = np.asarray(average_pipe_diameter_m(lhd, min_diameter_m=min_diameter_m))
    trench_m = np.asarray(area_ha, dtype=float) * M2_PER_HA / effective_width_m(e)
    capex = trench_m * _construction_cost_eur_per_m(diameter, area_type)
    return np.where(demand > 0, capex, 0.0)[()]


def distribution_cost_eur_per_mwh(
    annual_demand_mwh: ArrayLike,
    area_ha: ArrayLike,
    *,
    specific_demand_kwh_per_m2: float,
    area_type: str | ArrayLike,
    crf: float,
    min_diameter_m: float = MIN_DIAMETER_M,
) -> FloatOrArray:
    """Levelised distribution capital cost of a zone, per MWh of its demand.

    CRF × capex / annual demand, which equals Persson & Werner's
    CRF·(C1 + C2·d_a) / (e·q·w) per GJ, times 3.6 GJ/MWh. It depends on the zone only
    through its heat density: scaling demand and area together leaves it unchanged.

    Parameters
    ----------
    annual_demand_mwh, area_ha, specific_demand_kwh_per_m2
        The zone's demand a year (MWh, ≥ 0), its land area (ha, > 0) and its demand per
        m² of floor area a year (kWh/m², > 0), as in :func:`plot_ratio`.
    area_type
        As in :func:`distribution_capex_eur`.
    crf
        Capital recovery factor of the network, per year, ≥ 0
        (:func:`pipeline.engineering.cost.capital_recovery_factor`).
    min_diameter_m
        Floor of the average pipe diameter, default 0.02 m.

    Returns
    -------
    EUR (2007 prices) per MWh of the zone's annual demand; NaN where the demand is 0.

    Raises
    ------
    ValueError
        If the CRF is negative, or as in :func:`distribution_capex_eur`.

    Examples
    --------
    CRF = 0.05783 (4 %, 30 years). 40 GWh on 40 ha, outer city:
    0.05783 × 472.8 / 21.6 = 1.266 EUR/GJ = 4.56 EUR/MWh.
    196 GWh on 56 ha, inner city: 0.05783 × 712.5 / 75.6 = 0.545 EUR/GJ = 1.96 EUR/MWh.
    5 GWh on 30 ha, park: 16.7 kWh per m² of land, e = 0.119, w = 137.5 × 0.119 + 5 =
    21.4 m, Q/L = 0.06 × 21.4 = 1.28 GJ/m, d_a = 0.02 m (floor), C = 151 + 1378 × 0.02 =
    178.6 EUR/m; 0.05783 × 178.6 / 1.282 = 8.05 EUR/GJ = 28.99 EUR/MWh.

    >>> distribution_cost_eur_per_mwh(
    ...     [40_000.0, 196_000.0, 5_000.0], [40.0, 56.0, 30.0],
    ...     specific_demand_kwh_per_m2=140.0,
    ...     area_type=["outer_city", "inner_city", "park"], crf=0.05783,
    ... ).round(2).tolist()
    [4.56, 1.96, 28.99]
    """
    annual_factor = _nonnegative("crf", crf)
    demand = _nonnegative("annual_demand_mwh", annual_demand_mwh)
    capex = distribution_capex_eur(
        demand,
        area_ha,
        specific_demand_kwh_per_m2=specific_demand_kwh_per_m2,
        area_type=area_type,
        min_diameter_m=min_diameter_m,
    )
    safe_demand = np.where(demand > 0, demand, 1.0)
    return np.where(demand > 0, annual_factor * capex / safe_demand, np.nan)[()]
