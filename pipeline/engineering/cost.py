"""Cost of a link: pipe capex, annualised capital and the levelised cost of heat.

The functions work in any one currency: the stage converts the sources' EUR with
``cost.currency_per_eur`` before it calls them.

- Pipe cost per trench metre from Persson & Werner (2011): C1 + C2·d_i by area type, in
  EUR at 2007 prices (or the pipe catalogue's cost by DN, read by the stage).
- Capital recovery factor CRF = r(1 + r)^n / ((1 + r)^n - 1), or 1/n at r = 0.
- Levelised cost of heat, LCOH = (Σ capex·CRF + fixed O&M + electricity cost) / delivered
  heat, per MWh delivered (plus variable O&M where given).
- Annualised capex with each component over its own lifetime,
  Σ capex_i·CRF(r, n_i) (:func:`annualised_capex_per_yr`).
- Station and O&M constants below, each with its source and price year. The sources'
  prices are brought to the output basis with :mod:`pipeline.engineering.prices`.

References
----------
Persson, U. and Werner, S. (2011). Heat distribution and the future competitiveness of
district heating. *Applied Energy* 88(3), 568-576.

Danish Energy Agency (DEA), *Technology Data for Generation of Electricity and District
Heating*, sheet 40 "Comp. hp, excess heat 10 MW" (EUR at 2015 prices), as carried in
PyPSA technology-data ``outputs/costs_2025.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative

PERSSON_WERNER_EUR2007_PER_M: dict[str, tuple[float, float]] = {
    "inner_city": (286.0, 2022.0),
    "outer_city": (214.0, 1725.0),
    "park": (151.0, 1378.0),
}
"""Area type -> (C1 in EUR/m, C2 in EUR/m²) of Persson & Werner (2011), 2007 prices."""

PERSSON_WERNER_PRICE_YEAR = 2007

HEAT_PUMP_VARIABLE_OM_EUR2015_PER_MWH = 1.79
"""Variable O&M of a large electric heat pump on excess heat, EUR per MWh of heat at 2015
prices: DEA sheet 40 "Comp. hp, excess heat 10 MW", 1.7884 (value for 2025, as carried by
PyPSA technology-data). The 3 MW air-source unit of the same sheet has 2.3175."""

HEAT_EXCHANGER_STATION_EUR_PER_MW = 100_000.0
"""Heat-exchanger (substation) station at the network end, EUR per MW of design heat flow.
**Assumption** of the order given for DEA-type transmission stations (about 100 k EUR/MW);
the DEA figure and its price year were not verified (treat as 2015 prices)."""

PUMPING_STATION_EUR_PER_MW = 90_000.0
"""Pumping station for a transmission link, EUR per MW of design heat flow.
**Assumption** of the order given for DEA-type transmission pumping (about 90 k EUR/MW);
not verified against the DEA sheet (treat as 2015 prices)."""

STATION_PRICE_YEAR = 2015
"""Price year assumed for the two station costs above (DEA catalogues are at 2015 prices)."""

LIFETIME_YEARS: dict[str, int] = {
    "pipe": 30,
    "heat_pump": 25,
    "heat_exchanger_station": 25,
    "pumping_station": 25,
}
"""Default lifetime of each component, years. Pipe 30 (Hotmaps; DEA transmission pipes are
longer-lived); heat pump 25 (DEA sheet 40, technical lifetime); the two stations 25
(**assumption**: mechanical and electrical plant like the heat pump; not verified)."""


def persson_werner_pipe_cost_eur_per_m(
    inner_diameter_m: ArrayLike, *, area_type: str
) -> FloatOrArray:
    """Construction cost of a district-heating pipe pair per trench metre, C1 + C2·d_i.

    Parameters
    ----------
    inner_diameter_m
        Inner diameter of the media pipe, d_i, ≥ 0.
    area_type
        ``inner_city``, ``outer_city`` or ``park``.

    Returns
    -------
    EUR per trench metre at 2007 prices.

    Raises
    ------
    ValueError
        For an unknown area type or a negative diameter.

    Examples
    --------
    DN100 (d_i = 107.1 mm) in an outer city: 214 + 1725 × 0.1071 = 398.7 EUR/m.

    >>> round(float(persson_werner_pipe_cost_eur_per_m(0.1071, area_type="outer_city")), 1)
    398.7
    """
    if area_type not in PERSSON_WERNER_EUR2007_PER_M:
        raise ValueError(
            f"unknown area type {area_type!r}; use one of "
            + ", ".join(PERSSON_WERNER_EUR2007_PER_M)
        )
    c1, c2 = PERSSON_WERNER_EUR2007_PER_M[area_type]
    return (c1 + c2 * _nonnegative("inner_diameter_m", inner_diameter_m))[()]


def capital_recovery_factor(discount_rate: float, lifetime_years: int) -> float:
    """Share of a capital cost to pay each year to repay it with interest over a lifetime.

    CRF = r(1 + r)^n / ((1 + r)^n - 1); 1/n when r = 0.

    Parameters
    ----------
    discount_rate
        Real discount rate r, ≥ 0.
    lifetime_years
        Lifetime n, > 0.

    Returns
    -------
    The factor, per year.

    Raises
    ------
    ValueError
        If the rate is negative or the lifetime is not positive.

    Examples
    --------
    4 % over 30 years, and 0 % over 25 years:

    >>> round(capital_recovery_factor(0.04, 30), 5), capital_recovery_factor(0.0, 25)
    (0.05783, 0.04)
    """
    if discount_rate < 0 or lifetime_years <= 0:
        raise ValueError("discount_rate must be >= 0 and lifetime_years > 0")
    # (1 + r)^n - 1 as expm1(n·log1p(r)): exact for tiny r, where (1 + r)^n rounds to 1.
    growth_less_one = math.expm1(lifetime_years * math.log1p(discount_rate))
    if growth_less_one == 0:
        return 1.0 / lifetime_years
    return discount_rate * (1.0 + growth_less_one) / growth_less_one


def annualised_capex_per_yr(
    capex_by_component: Mapping[str, ArrayLike],
    lifetimes_years: Mapping[str, int],
    *,
    discount_rate: float,
) -> FloatOrArray:
    """Capital costs annualised each over its own lifetime, Σ capex_i · CRF(r, n_i).

    Parameters
    ----------
    capex_by_component
        Component name -> capital cost (≥ 0; arrays broadcast).
    lifetimes_years
        Component name -> lifetime in years (> 0), e.g. :data:`LIFETIME_YEARS`. Every
        component of ``capex_by_component`` needs one.
    discount_rate
        Real discount rate r, ≥ 0.

    Returns
    -------
    The annual capital charge, in the currency of the capex.

    Raises
    ------
    ValueError
        If a component has no lifetime (the message names it), or a capex is negative.

    Examples
    --------
    1 M of pipe over 30 years and 0.5 M of heat pump over 25, at 4 %:
    1e6 × 0.057830 + 5e5 × 0.064012 = 89,836 a year.

    >>> round(float(annualised_capex_per_yr(
    ...     {"pipe": 1.0e6, "heat_pump": 5.0e5}, LIFETIME_YEARS, discount_rate=0.04
    ... )))
    89836
    """
    total = np.asarray(0.0)
    for name, capex in capex_by_component.items():
        if name not in lifetimes_years:
            raise ValueError(
                f"no lifetime for component {name!r}; known: {', '.join(lifetimes_years)}"
            )
        crf = capital_recovery_factor(discount_rate, lifetimes_years[name])
        total = total + _nonnegative(f"capex of {name}", capex) * crf
    return total[()]


def levelised_cost_of_heat_per_mwh(
    *,
    annualised_capex_per_yr: ArrayLike,
    om_cost_per_yr: ArrayLike,
    electricity_cost_per_yr: ArrayLike,
    delivered_heat_mwh: ArrayLike,
    variable_om_cost_per_yr: ArrayLike = 0.0,
) -> FloatOrArray:
    """Levelised cost of the heat a link delivers.

    LCOH = (annualised capex + O&M + variable O&M + electricity cost) / delivered heat.
    The waste heat itself is free (assumption).

    Parameters
    ----------
    annualised_capex_per_yr
        Capital costs times their capital recovery factors, summed, ≥ 0.
    om_cost_per_yr
        Fixed operation and maintenance a year, ≥ 0.
    electricity_cost_per_yr
        Electricity bought a year (heat pump and pumps), ≥ 0.
    delivered_heat_mwh
        Heat delivered a year, ≥ 0.
    variable_om_cost_per_yr
        Variable O&M a year (e.g. heat-pump output × its EUR/MWh), ≥ 0; default 0.

    Returns
    -------
    Cost per MWh delivered, in the currency of the inputs; NaN where nothing is
    delivered.

    Examples
    --------
    1.0 M a year of capital, 50 k of O&M and 400 k of electricity for 20,000 MWh:

    >>> float(levelised_cost_of_heat_per_mwh(
    ...     annualised_capex_per_yr=1.0e6, om_cost_per_yr=5.0e4,
    ...     electricity_cost_per_yr=4.0e5, delivered_heat_mwh=20_000.0,
    ... ))
    72.5

    Adding the DEA's 1.79 per MWh of variable O&M on the same 20,000 MWh:

    >>> float(levelised_cost_of_heat_per_mwh(
    ...     annualised_capex_per_yr=1.0e6, om_cost_per_yr=5.0e4,
    ...     electricity_cost_per_yr=4.0e5, delivered_heat_mwh=20_000.0,
    ...     variable_om_cost_per_yr=1.79 * 20_000.0,
    ... ))
    74.29
    """
    annual = (
        _nonnegative("annualised_capex_per_yr", annualised_capex_per_yr)
        + _nonnegative("om_cost_per_yr", om_cost_per_yr)
        + _nonnegative("variable_om_cost_per_yr", variable_om_cost_per_yr)
        + _nonnegative("electricity_cost_per_yr", electricity_cost_per_yr)
    )
    delivered = _nonnegative("delivered_heat_mwh", delivered_heat_mwh)
    return np.where(delivered > 0, annual / np.where(delivered > 0, delivered, 1.0), np.nan)[()]
