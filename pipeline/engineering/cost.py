"""Cost of a link: pipe capex, annualised capital and the levelised cost of heat.

The functions work in any one currency: the stage converts the sources' EUR with
``cost.currency_per_eur`` before it calls them.

- Pipe cost per trench metre from Persson & Werner (2011): C1 + C2·d_i by area type, in
  EUR at 2007 prices (or the pipe catalogue's cost by DN, read by the stage).
- Capital recovery factor CRF = r(1 + r)^n / ((1 + r)^n - 1), or 1/n at r = 0.
- Levelised cost of heat, LCOH = (Σ capex·CRF + fixed O&M + electricity cost) / delivered
  heat, per MWh delivered.

References
----------
Persson, U. and Werner, S. (2011). Heat distribution and the future competitiveness of
district heating. *Applied Energy* 88(3), 568-576.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative

PERSSON_WERNER_EUR2007_PER_M: dict[str, tuple[float, float]] = {
    "inner_city": (286.0, 2022.0),
    "outer_city": (214.0, 1725.0),
    "park": (151.0, 1378.0),
}
"""Area type -> (C1 in EUR/m, C2 in EUR/m²) of Persson & Werner (2011), 2007 prices."""


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
    if discount_rate == 0:
        return 1.0 / lifetime_years
    growth = (1.0 + discount_rate) ** lifetime_years
    return discount_rate * growth / (growth - 1.0)


def levelised_cost_of_heat_per_mwh(
    *,
    annualised_capex_per_yr: ArrayLike,
    om_cost_per_yr: ArrayLike,
    electricity_cost_per_yr: ArrayLike,
    delivered_heat_mwh: ArrayLike,
) -> FloatOrArray:
    """Levelised cost of the heat a link delivers.

    LCOH = (annualised capex + O&M + electricity cost) / delivered heat. The waste heat
    itself is free (assumption).

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
    """
    annual = (
        _nonnegative("annualised_capex_per_yr", annualised_capex_per_yr)
        + _nonnegative("om_cost_per_yr", om_cost_per_yr)
        + _nonnegative("electricity_cost_per_yr", electricity_cost_per_yr)
    )
    delivered = _nonnegative("delivered_heat_mwh", delivered_heat_mwh)
    return np.where(delivered > 0, annual / np.where(delivered > 0, delivered, 1.0), np.nan)[()]
