"""Properties of liquid water between 0 and 150 °C.

The correlations are those of Popiel and Wojtkowiak (1998), fitted to tabulated data for
liquid water at 1 bar (below 100 °C) and on the saturation line (above). The authors
give them as valid from 0 to 150 °C. The pressure of a heat network (up to about 25 bar)
changes density and heat capacity by less than 0.1 %, which is ignored.

References
----------
Popiel, C. O. and Wojtkowiak, J. (1998). Simple formulas for thermophysical properties
of liquid water for heat transfer calculations (from 0 °C to 150 °C). *Heat Transfer
Engineering* 19(3), 87-101. https://doi.org/10.1080/01457639808939929
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatOrArray = float | NDArray[np.float64]
"""What the functions of ``pipeline.engineering`` return: a float, or an array shaped
like the broadcast inputs."""

MIN_TEMP_C = 0.0
MAX_TEMP_C = 150.0


# Input checks shared by the modules of pipeline.engineering.
def _nonnegative(name: str, value: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=float)
    if np.any(a < 0):
        raise ValueError(f"{name} must not be negative")
    return a


def _positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(value, dtype=float)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be positive")
    return a


def _temp(temp_c: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(temp_c, dtype=float)
    if np.any((t < MIN_TEMP_C) | (t > MAX_TEMP_C)):
        raise ValueError(
            f"water temperature outside {MIN_TEMP_C:g}-{MAX_TEMP_C:g} C, the range of the "
            "correlations; check the network's supply and return temperatures"
        )
    return t


def water_density_kg_per_m3(temp_c: ArrayLike) -> FloatOrArray:
    """Density of liquid water.

    ρ = a + b·T + c·T² + d·T^2.5 + e·T³ (Popiel and Wojtkowiak 1998, eq. 2), within
    about 0.01 % of the IAPWS values.

    Parameters
    ----------
    temp_c
        Water temperature, 0-150 °C.

    Returns
    -------
    Density in kg/m³.

    Raises
    ------
    ValueError
        If a temperature is outside 0-150 °C.

    Examples
    --------
    >>> round(float(water_density_kg_per_m3(80.0)), 1)
    971.8
    >>> water_density_kg_per_m3([20.0, 100.0]).round(1)
    array([998.2, 958.3])
    """
    t = _temp(temp_c)
    rho = (
        999.79684
        + 0.068317355 * t
        - 0.010740248 * t**2
        + 0.00082140905 * t**2.5
        - 2.3030988e-5 * t**3
    )
    return rho[()]


def water_dynamic_viscosity_pa_s(temp_c: ArrayLike) -> FloatOrArray:
    """Dynamic viscosity of liquid water.

    μ = 1/(a + b·T + c·T² + d·T³) (Popiel and Wojtkowiak 1998, eq. 9), within about
    0.5 % of the IAPWS values.

    Parameters
    ----------
    temp_c
        Water temperature, 0-150 °C.

    Returns
    -------
    Dynamic viscosity in Pa·s.

    Raises
    ------
    ValueError
        If a temperature is outside 0-150 °C.

    Examples
    --------
    >>> round(float(water_dynamic_viscosity_pa_s(80.0)) * 1e3, 3)  # mPa·s
    0.354
    """
    t = _temp(temp_c)
    mu = 1.0 / (557.82468 + 19.408782 * t + 0.1360459 * t**2 - 3.1160832e-4 * t**3)
    return mu[()]


def water_specific_heat_j_per_kgk(temp_c: ArrayLike) -> FloatOrArray:
    """Isobaric specific heat capacity of liquid water.

    c_p = a + b·T + c·T^1.5 + d·T² + e·T^2.5 in kJ/(kg·K) (Popiel and Wojtkowiak 1998,
    eq. 6), returned in J/(kg·K); within about 0.1 % of the IAPWS values.

    Parameters
    ----------
    temp_c
        Water temperature, 0-150 °C.

    Returns
    -------
    Specific heat capacity in J/(kg·K).

    Raises
    ------
    ValueError
        If a temperature is outside 0-150 °C.

    Examples
    --------
    >>> round(float(water_specific_heat_j_per_kgk(80.0)))
    4197
    """
    t = _temp(temp_c)
    cp_kj = (
        4.2174356
        - 0.0056181625 * t
        + 0.0012992528 * t**1.5
        - 0.00011535353 * t**2
        + 4.14964e-6 * t**2.5
    )
    return (1000.0 * cp_kj)[()]
