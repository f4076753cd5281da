"""One price basis: price indices, inflation and currency conversion.

The cost sources are in different currencies and price years (Persson & Werner in EUR at
2007 prices, the DEA in EUR at 2015 prices, UK figures in GBP). The outputs are in one
currency at one price year (config ``cost.currency`` and ``cost.price_year``). A price is
brought to that basis once, by :func:`price_in_output_basis`:

1. inflate it from its own price year to the output price year with the index of its own
   currency (:func:`inflate`);
2. convert it to the output currency at the exchange rate of the output price year.

Inflating first keeps each currency's inflation in that currency's own index; converting
at the output year's rate then gives the price as it would be quoted in that year. The
other order (convert at the source year's rate, then inflate with the output currency's
index) mixes one economy's inflation into the other's price and depends on the exchange
rate of a year the output does not describe.

The indices are carried here as constants rather than as a data file, so that this
package stays free of I/O. Each constant names its source and what was verified.

References
----------
Eurostat, HICP - annual data (average index and rate of change), dataset
``prc_hicp_aind``, euro area (``EA``, changing composition), all items (``CP00``),
unit ``INX_A_AVG``, 2015 = 100.

HM Treasury, *GDP deflators at market prices, and money GDP* (quarterly), from ONS
series YBGB / MNF2, calendar years.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray

EA_HICP_2015_100: dict[int, float] = {
    2005: 84.79,
    2006: 86.64,
    2007: 88.49,
    2008: 91.38,
    2009: 91.65,
    2010: 93.14,
    2011: 95.66,
    2012: 98.05,
    2013: 99.38,
    2014: 99.81,
    2015: 100.0,
    2016: 100.23,
    2017: 101.78,
    2018: 103.56,
    2019: 104.80,
    2020: 105.06,
    2021: 107.78,
    2022: 116.82,
    2023: 123.15,
    2024: 126.07,
    2025: 128.75,
}
"""Euro-area HICP, annual average index, 2015 = 100 (Eurostat ``prc_hicp_aind``, geo EA,
coicop CP00, unit INX_A_AVG). Transcribed from a secondary copy of the Eurostat table;
its year-on-year changes match the annual average inflation rates Eurostat publishes
(for example 8.4 % in 2022, 5.4 % in 2023). Not checked cell by cell against Eurostat."""

UK_GDP_DEFLATOR_2024_100: dict[int, float] = {
    2005: 61.5718,
    2006: 63.4682,
    2007: 64.7322,
    2008: 66.8900,
    2009: 68.2170,
    2010: 69.1217,
    2011: 70.8340,
    2012: 71.9294,
    2013: 73.4795,
    2014: 74.6524,
    2015: 75.1536,
    2016: 76.4554,
    2017: 77.6367,
    2018: 79.1606,
    2019: 81.1085,
    2020: 85.2137,
    2021: 85.6358,
    2022: 90.5005,
    2023: 96.2507,
    2024: 100.0,
}
"""UK GDP deflator at market prices, calendar years, 2024 = 100 (ONS series YBGB as
carried by HM Treasury). Transcribed from a secondary copy whose vintage is not stated;
it agrees within 0.5 % with the deflator factors of the DESNZ Fossil Fuel Price
Assumptions 2025 workbook at 2012, 2014, 2020, 2021 and 2023. 2020-21 is the COVID-era
distortion of the UK deflator (government output volumes), not a transcription error.
Not checked against an HM Treasury release; 2025 is absent."""

PRICE_INDICES: dict[str, dict[int, float]] = {
    "EUR": EA_HICP_2015_100,
    "GBP": UK_GDP_DEFLATOR_2024_100,
}
"""Currency -> the index that inflates prices in that currency."""


def inflate(
    value: ArrayLike, *, from_year: int, to_year: int, index: Mapping[int, float]
) -> FloatOrArray:
    """A price at one year's prices restated at another year's, value × I(to) / I(from).

    Parameters
    ----------
    value
        The price (any unit of money), at ``from_year`` prices.
    from_year
        Its price year.
    to_year
        The price year wanted.
    index
        Year -> price index level, e.g. :data:`EA_HICP_2015_100`.

    Returns
    -------
    The price at ``to_year`` prices, in the same currency.

    Raises
    ------
    ValueError
        If the index has no value for either year (the message names the year), or a
        level is not positive.

    Examples
    --------
    Persson & Werner's outer-city DN100 pipe, 398.7 EUR/m at 2007 prices, at 2020 prices:
    398.7 × 105.06 / 88.49 = 473.4 EUR/m.

    >>> round(float(inflate(398.7, from_year=2007, to_year=2020, index=EA_HICP_2015_100)), 1)
    473.4
    >>> inflate(1.0, from_year=1990, to_year=2020, index=EA_HICP_2015_100)
    Traceback (most recent call last):
    ...
    ValueError: price index has no value for 1990 (it covers 2005-2025)
    """
    levels = []
    for year in (from_year, to_year):
        if year not in index:
            raise ValueError(
                f"price index has no value for {year} (it covers {min(index)}-{max(index)})"
            )
        if index[year] <= 0:
            raise ValueError(f"price index level for {year} must be positive")
        levels.append(index[year])
    return (np.asarray(value, dtype=float) * (levels[1] / levels[0]))[()]


def exchange_rate(
    *, from_currency: str, to_currency: str, year: int, per_eur: Mapping[str, Mapping[int, float]]
) -> float:
    """Units of ``to_currency`` per unit of ``from_currency`` in a year, through the euro.

    rate = per_eur[to][year] / per_eur[from][year], with EUR itself 1.

    Parameters
    ----------
    from_currency, to_currency
        ISO 4217 codes.
    year
        The year of the annual-average rates.
    per_eur
        Currency -> year -> units of that currency per EUR (annual averages, e.g. ECB
        reference rates). EUR needs no entry.

    Returns
    -------
    The rate.

    Raises
    ------
    ValueError
        If a rate is missing (the message names currency and year) or not positive.

    Examples
    --------
    With 0.85 GBP per EUR in 2020 (an example value), 1 GBP buys 1/0.85 EUR:

    >>> rates = {"GBP": {2020: 0.85}}
    >>> exchange_rate(from_currency="EUR", to_currency="GBP", year=2020, per_eur=rates)
    0.85
    >>> round(exchange_rate(from_currency="GBP", to_currency="EUR", year=2020, per_eur=rates), 4)
    1.1765
    """

    def units_per_eur(currency: str) -> float:
        if currency == "EUR":
            return 1.0
        rate = per_eur.get(currency, {}).get(year)
        if rate is None:
            raise ValueError(f"no exchange rate for {currency} per EUR in {year}")
        if rate <= 0:
            raise ValueError(f"exchange rate for {currency} per EUR in {year} must be positive")
        return float(rate)

    if from_currency == to_currency:
        return 1.0
    return units_per_eur(to_currency) / units_per_eur(from_currency)


def price_in_output_basis(
    value: ArrayLike,
    *,
    currency: str,
    price_year: int,
    to_currency: str,
    to_price_year: int,
    indices: Mapping[str, Mapping[int, float]],
    per_eur: Mapping[str, Mapping[int, float]],
) -> FloatOrArray:
    """A price in its own currency and price year, in the output currency and price year.

    Inflate in the source currency's own index from ``price_year`` to ``to_price_year``
    (:func:`inflate`), then convert at the exchange rate of ``to_price_year``
    (:func:`exchange_rate`). Done once per source figure.

    Parameters
    ----------
    value
        The price, in ``currency`` at ``price_year`` prices.
    currency, price_year
        Its currency (ISO 4217) and price year.
    to_currency, to_price_year
        The output currency and price year (config ``cost.currency``, ``cost.price_year``).
    indices
        Currency -> price index, e.g. :data:`PRICE_INDICES`.
    per_eur
        Currency -> year -> units per EUR (see :func:`exchange_rate`).

    Returns
    -------
    The price in ``to_currency`` at ``to_price_year`` prices.

    Raises
    ------
    ValueError
        If the source currency has no index, or a year or rate is missing.

    Examples
    --------
    The DEA's 0.86 M EUR/MW heat pump (2015 prices) in EUR at 2020 prices:
    0.86 × 105.06 / 100 = 0.9035 M EUR/MW; and in GBP at an example 0.85 GBP per EUR:

    >>> round(float(price_in_output_basis(
    ...     0.86, currency="EUR", price_year=2015, to_currency="EUR", to_price_year=2020,
    ...     indices=PRICE_INDICES, per_eur={},
    ... )), 4)
    0.9035
    >>> round(float(price_in_output_basis(
    ...     0.86, currency="EUR", price_year=2015, to_currency="GBP", to_price_year=2020,
    ...     indices=PRICE_INDICES, per_eur={"GBP": {2020: 0.85}},
    ... )), 4)
    0.768
    """
    if currency not in indices:
        raise ValueError(
            f"no price index for {currency}; known: {', '.join(sorted(indices)) or 'none'}"
        )
    real = inflate(value, from_year=price_year, to_year=to_price_year, index=indices[currency])
    rate = exchange_rate(
        from_currency=currency, to_currency=to_currency, year=to_price_year, per_eur=per_eur
    )
    return (np.asarray(real, dtype=float) * rate)[()]
