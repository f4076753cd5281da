"""Steady-state heat loss of buried pre-insulated pipes.

Single pipes, supply and return side by side in one trench, by the method of EN 13941
(Wallentén 1991; Bøhm 2000): each pipe's insulation and casing resistance, the soil
resistance with the ground-surface resistance folded into an effective depth, and the
thermal interaction of the two pipes.

Twin pipes, both media pipes in one casing, by Wallentén's first-order multipole solution,
with the correction terms squared: the symmetric part (the mean of the two pipe
temperatures against the ground) sets what the pair loses, and the antisymmetric part (half
their difference) the heat the supply pipe passes to the return pipe inside the casing.

The supply temperature falls along a link by q_s·L/(ṁ·c_p), or, with the loss taken as
proportional to the supply's excess over the ground, exponentially towards the ground
temperature, which matters at low (summer) flow on long links.

References
----------
Wallentén, P. (1991). *Steady-state heat loss from insulated pipes*. Licentiate thesis,
Report TVBH-3017, Department of Building Physics, Lund Institute of Technology.

Bøhm, B. (2000). On transient heat losses from buried district heating pipes.
*International Journal of Energy Research* 24(15), 1311-1334.

EN 13941 Design and installation of pre-insulated bonded pipe systems for district heating.

IBPSA Project 1 / IEA EBC Annex 60 Modelica library, ``Annex60.Experimental.Pipe.
BaseClasses.DoublePipeConfig.IsoPlusDouble`` (github.com/ibpsa/modelica-ibpsa): a
transcription of Wallentén's h_s and h_a, used here to check h_a's terms (see
:func:`twin_pipe_h_a`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.engineering.water import FloatOrArray, _nonnegative

GROUND_SURFACE_RESISTANCE_M2K_PER_W = 0.0685
"""R_0, the heat-transfer resistance of the ground surface (EN 13941 method)."""


@dataclass(frozen=True, kw_only=True)
class Trench:
    """The ground the pipes are buried in: the soil, the cover over them and the surface.

    Attributes
    ----------
    soil_conductivity_w_per_mk
        Conductivity of the soil, λ_s.
    cover_depth_m
        Soil cover from the ground surface to the top of the casing.
    surface_resistance_m2k_per_w
        Ground-surface resistance R_0.

    Examples
    --------
    The default trench of the config: 0.6 m of cover in soil of 1.5 W/(m·K), with the
    EN 13941 surface resistance.

    >>> Trench(soil_conductivity_w_per_mk=1.5, cover_depth_m=0.6)
    Trench(soil_conductivity_w_per_mk=1.5, cover_depth_m=0.6, surface_resistance_m2k_per_w=0.0685)
    """

    soil_conductivity_w_per_mk: ArrayLike
    cover_depth_m: ArrayLike
    surface_resistance_m2k_per_w: ArrayLike = GROUND_SURFACE_RESISTANCE_M2K_PER_W


def _trench(
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    trench: Trench,
) -> tuple[NDArray[np.float64], ...]:
    """The conductivities (positive), the cover and R_0 (not negative) as arrays."""
    conductivities = [
        np.asarray(v, dtype=float)
        for v in (
            lambda_insulation_w_per_mk,
            lambda_casing_w_per_mk,
            trench.soil_conductivity_w_per_mk,
        )
    ]
    if any(np.any(c <= 0) for c in conductivities):
        raise ValueError("conductivities must be positive")
    cover = _nonnegative("cover_depth_m", trench.cover_depth_m)
    r_0 = _nonnegative("surface_resistance_m2k_per_w", trench.surface_resistance_m2k_per_w)
    return (*conductivities, cover, r_0)


def single_pair_u_coefficients_w_per_mk(
    *,
    steel_outer_diameter_m: ArrayLike,
    insulation_outer_diameter_m: ArrayLike,
    casing_outer_diameter_m: ArrayLike,
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    casing_clearance_m: ArrayLike,
    trench: Trench,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Heat-loss coefficients U_1 and U_2 of a pair of single pipes in one trench.

    With depth to the pipe centre Z = cover + D_c/2 and centre spacing C = D_c + clearance:

    - R_i = ln(D_PUR/d_o)/(2π·λ_i) + ln(D_c/D_PUR)/(2π·λ_PE)
    - Z_c = Z + λ_s·R_0
    - R_s = ln(4·Z_c/D_c)/(2π·λ_s)
    - R_h = ln(1 + (2·Z_c/C)²)/(4π·λ_s)
    - U_1 = (R_s + R_i)/((R_s + R_i)² - R_h²), U_2 = R_h/((R_s + R_i)² - R_h²)

    The steel wall's resistance is negligible and left out, as in the method.

    Parameters
    ----------
    steel_outer_diameter_m
        Outer diameter of the steel media pipe, d_o.
    insulation_outer_diameter_m
        Outer diameter of the PUR insulation, D_PUR.
    casing_outer_diameter_m
        Outer diameter of the PE casing, D_c.
    lambda_insulation_w_per_mk
        Conductivity of the insulation (aged PUR 0.027 by default in config).
    lambda_casing_w_per_mk
        Conductivity of the casing (PE, 0.4).
    casing_clearance_m
        Horizontal clearance between the two casings.
    trench
        The soil conductivity λ_s, the cover to the top of the casings and R_0.

    Returns
    -------
    tuple
        (U_1, U_2) in W/(m·K) per pipe: U_1 couples a pipe to its own temperature,
        U_2 to the other pipe's.

    Raises
    ------
    ValueError
        If the diameters are not increasing from steel to insulation to casing, or a
        conductivity, the cover or the clearance is out of range.

    Examples
    --------
    Logstor series 2 DN100, 0.6 m cover, 0.15 m clearance, soil 1.5 W/(m·K):

    >>> u1, u2 = single_pair_u_coefficients_w_per_mk(
    ...     steel_outer_diameter_m=0.1143, insulation_outer_diameter_m=0.2182,
    ...     casing_outer_diameter_m=0.225, lambda_insulation_w_per_mk=0.027,
    ...     lambda_casing_w_per_mk=0.4, casing_clearance_m=0.15,
    ...     trench=Trench(soil_conductivity_w_per_mk=1.5, cover_depth_m=0.6),
    ... )
    >>> round(float(u1), 4), round(float(u2), 4)
    (0.2438, 0.0094)
    """
    d_o = np.asarray(steel_outer_diameter_m, dtype=float)
    d_pur = np.asarray(insulation_outer_diameter_m, dtype=float)
    d_c = np.asarray(casing_outer_diameter_m, dtype=float)
    lam_i, lam_pe, lam_s, cover, r_0 = _trench(
        lambda_insulation_w_per_mk, lambda_casing_w_per_mk, trench
    )
    clearance = _nonnegative("casing_clearance_m", casing_clearance_m)
    if np.any(d_o <= 0) or np.any(d_pur <= d_o) or np.any(d_c < d_pur):
        raise ValueError(
            "diameters must satisfy 0 < steel outer < insulation outer <= casing outer"
        )

    depth_m = cover + d_c / 2.0
    spacing_m = d_c + clearance
    r_i = np.log(d_pur / d_o) / (2 * np.pi * lam_i) + np.log(d_c / d_pur) / (2 * np.pi * lam_pe)
    z_c = depth_m + lam_s * r_0
    r_s = np.log(4.0 * z_c / d_c) / (2 * np.pi * lam_s)
    r_h = np.log(1.0 + (2.0 * z_c / spacing_m) ** 2) / (4 * np.pi * lam_s)
    r = r_s + r_i
    denominator = r**2 - r_h**2
    return (r / denominator)[()], (r_h / denominator)[()]


def single_pair_heat_loss_w_per_m(
    u1_w_per_mk: ArrayLike,
    u2_w_per_mk: ArrayLike,
    *,
    supply_temp_c: ArrayLike,
    return_temp_c: ArrayLike,
    ground_temp_c: ArrayLike,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Heat lost by the supply and the return pipe, per metre of trench.

    - q_s = U_1·(T_s - T_g) - U_2·(T_r - T_g)
    - q_r = U_1·(T_r - T_g) - U_2·(T_s - T_g)

    Their sum is (U_1 - U_2)·(T_s + T_r - 2·T_g).

    Parameters
    ----------
    u1_w_per_mk, u2_w_per_mk
        Coefficients from :func:`single_pair_u_coefficients_w_per_mk`.
    supply_temp_c
        Supply water temperature.
    return_temp_c
        Return water temperature.
    ground_temp_c
        Undisturbed ground temperature.

    Returns
    -------
    tuple
        (q_supply, q_return) in W per metre of trench. A pipe colder than its neighbour
        can gain heat (negative q).

    Examples
    --------
    >>> q_s, q_r = single_pair_heat_loss_w_per_m(
    ...     0.2438, 0.0094, supply_temp_c=80.0, return_temp_c=50.0, ground_temp_c=10.0
    ... )
    >>> round(float(q_s), 2), round(float(q_r), 2), round(float(q_s + q_r), 2)
    (16.69, 9.09, 25.78)
    """
    u1 = np.asarray(u1_w_per_mk, dtype=float)
    u2 = np.asarray(u2_w_per_mk, dtype=float)
    ground = np.asarray(ground_temp_c, dtype=float)
    excess_supply_k = np.asarray(supply_temp_c, dtype=float) - ground
    excess_return_k = np.asarray(return_temp_c, dtype=float) - ground
    q_supply = u1 * excess_supply_k - u2 * excess_return_k
    q_return = u1 * excess_return_k - u2 * excess_supply_k
    return q_supply[()], q_return[()]


def _twin_geometry(
    *,
    steel_outer_diameter_m: ArrayLike,
    media_gap_m: ArrayLike,
    casing_outer_diameter_m: ArrayLike,
    casing_wall_m: ArrayLike,
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    trench: Trench,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    tuple[NDArray[np.float64], ...],
]:
    """Checked twin-pipe geometry: r_o, D, r_c, r_co and the :func:`_trench` arrays."""
    trench_arrays = _trench(lambda_insulation_w_per_mk, lambda_casing_w_per_mk, trench)
    gap = _nonnegative("media_gap_m", media_gap_m)
    wall = _nonnegative("casing_wall_m", casing_wall_m)
    d_o = np.asarray(steel_outer_diameter_m, dtype=float)
    r_o = d_o / 2.0
    half_spacing = (d_o + gap) / 2.0
    r_co = np.asarray(casing_outer_diameter_m, dtype=float) / 2.0
    r_c = r_co - wall
    if np.any(r_o <= 0) or np.any(half_spacing + r_o >= r_c):
        raise ValueError("the two media pipes must fit inside the casing's insulation")
    return r_o, half_spacing, r_c, r_co, trench_arrays


def twin_pipe_h_s(
    *,
    steel_outer_diameter_m: ArrayLike,
    media_gap_m: ArrayLike,
    casing_outer_diameter_m: ArrayLike,
    casing_wall_m: ArrayLike,
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    trench: Trench,
) -> FloatOrArray:
    """Dimensionless symmetric heat-loss coefficient h_s of a buried twin pipe.

    The two media pipes (outer radius r_o) lie side by side, centred in the casing, their
    centres 2D = d_o + gap apart. With the insulation filling the casing to its inner
    radius r_c, the casing's outer radius r_co, the effective depth of the casing centre
    H = cover + r_co + λ_s·R_0 and σ = (λ_i - λ_s)/(λ_i + λ_s), Wallentén's first-order
    multipole solution is

        1/h_s = (2λ_i/λ_s)·ln(2H/r_co) + ln(r_c²/(2D·r_o)) + σ·ln(r_c⁴/(r_c⁴ - D⁴)) - A²/B

    with A = r_o/(2D) - σ·2·r_o·D³/(r_c⁴ - D⁴) and
    B = 1 + (r_o/(2D))² + σ·(2·r_o·r_c²·D/(r_c⁴ - D⁴))². The correction term is A
    squared. The PE casing wall adds the resistance of a concentric layer,
    (2λ_i/λ_PE)·ln(r_co/r_c), as in the single-pipe method; the steel wall is left out.

    Parameters
    ----------
    steel_outer_diameter_m
        Outer diameter of each steel media pipe, d_o.
    media_gap_m
        Clear gap between the two steel pipes (wall to wall), ≥ 0.
    casing_outer_diameter_m
        Outer diameter of the PE casing.
    casing_wall_m
        Wall thickness of the PE casing, ≥ 0.
    lambda_insulation_w_per_mk
        Conductivity of the PUR insulation, λ_i.
    lambda_casing_w_per_mk
        Conductivity of the PE casing, λ_PE.
    trench
        The soil conductivity λ_s, the cover to the top of the casing and R_0.

    Returns
    -------
    h_s (dimensionless); the pipe pair loses q = 2π·λ_i·h_s·(T_s + T_r - 2·T_g) per
    metre of trench (:func:`twin_pipe_heat_loss_w_per_m`).

    Raises
    ------
    ValueError
        If the media pipes overlap or do not fit inside the casing's insulation, or a
        conductivity, the cover or the casing wall is out of range.

    Examples
    --------
    isoplus standard twin DN100 (casing 315 mm, wall 4.1 mm, 25 mm between the pipes),
    0.6 m cover, soil 1.5 W/(m·K): r_o = 57.15 mm, D = 69.65 mm, r_c = 153.4 mm,
    H = 0.86025 m and σ = -0.9646. The terms of 1/h_s are 0.08607 (soil), 0.00356
    (casing), 1.08379, -0.04189 and -0.22036 (A²/B), so 1/h_s = 0.91117 and h_s = 1.0975.

    >>> round(float(twin_pipe_h_s(
    ...     steel_outer_diameter_m=0.1143, media_gap_m=0.025, casing_outer_diameter_m=0.315,
    ...     casing_wall_m=0.0041, lambda_insulation_w_per_mk=0.027, lambda_casing_w_per_mk=0.4,
    ...     trench=Trench(soil_conductivity_w_per_mk=1.5, cover_depth_m=0.6),
    ... )), 4)
    1.0975
    """
    r_o, half_spacing, r_c, r_co, (lam_i, lam_pe, lam_s, cover, r_0) = _twin_geometry(
        steel_outer_diameter_m=steel_outer_diameter_m,
        media_gap_m=media_gap_m,
        casing_outer_diameter_m=casing_outer_diameter_m,
        casing_wall_m=casing_wall_m,
        lambda_insulation_w_per_mk=lambda_insulation_w_per_mk,
        lambda_casing_w_per_mk=lambda_casing_w_per_mk,
        trench=trench,
    )
    depth = cover + r_co + lam_s * r_0
    sigma = (lam_i - lam_s) / (lam_i + lam_s)
    rc4_minus_d4 = r_c**4 - half_spacing**4
    ratio = r_o / (2.0 * half_spacing)
    a = ratio - sigma * 2.0 * r_o * half_spacing**3 / rc4_minus_d4
    b = 1.0 + ratio**2 + sigma * (2.0 * r_o * r_c**2 * half_spacing / rc4_minus_d4) ** 2
    inverse = (
        2.0 * lam_i / lam_s * np.log(2.0 * depth / r_co)
        + 2.0 * lam_i / lam_pe * np.log(r_co / r_c)
        + np.log(r_c**2 / (2.0 * half_spacing * r_o))
        + sigma * np.log(r_c**4 / rc4_minus_d4)
        - a**2 / b
    )
    return (1.0 / inverse)[()]


def twin_pipe_h_a(
    *,
    steel_outer_diameter_m: ArrayLike,
    media_gap_m: ArrayLike,
    casing_outer_diameter_m: ArrayLike,
    casing_wall_m: ArrayLike,
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    trench: Trench,
) -> FloatOrArray:
    """Dimensionless antisymmetric heat-loss coefficient h_a of a buried twin pipe.

    The antisymmetric problem has one media pipe at +ΔT and the other at -ΔT, ΔT being
    half the supply-return difference; h_a sets the heat the supply pipe passes to the
    return pipe, 2π·λ_i·h_a·ΔT per metre. With the geometry and σ = (λ_i - λ_s)/(λ_i + λ_s)
    of :func:`twin_pipe_h_s`, Wallentén's first-order multipole solution is

        1/h_a = ln(2D/r_o) + σ·ln((r_c² + D²)/(r_c² - D²)) - A²/B

    with A = r_o/(2D) + σ·2·r_o·r_c²·D/(r_c⁴ - D⁴) and
    B = 1 - (r_o/(2D))² + σ·2·r_o²·r_c²·(r_c⁴ + D⁴)/(r_c⁴ - D⁴)².

    The field is a dipole that falls off as 1/r², so the ground enters only through terms
    of order (D/H)², which are left out (about 0.05 % of 1/h_a for DN100 under 0.6 m of
    cover), and the cover and R_0 do not enter. The insulation is taken to meet the soil at
    r_c. Counting the thin PE wall would lower h_a by 0.2 % for DN100.

    The terms agree with the Annex 60 transcription (see References) once its ground
    terms are left out. That transcription also has a term γ·r_o/(2D) in B which does not
    vanish far from the surface and makes h_a negative at λ_i = λ_s, so it is left out.
    The formula was checked against an independent first-order multipole solution, which
    it matches to 1e-15. At λ_i = λ_s it matches the exact 1/arccosh(D/r_o) of two
    cylinders in one medium to first order. The full multipole solution (order 10) is
    6 % higher for the DN100 below, whose pipes are only 25 mm apart. The difference
    shrinks quickly as the gap widens.

    Parameters
    ----------
    steel_outer_diameter_m, media_gap_m, casing_outer_diameter_m, casing_wall_m
        Geometry as in :func:`twin_pipe_h_s`.
    lambda_insulation_w_per_mk
        Conductivity of the PUR insulation, λ_i.
    lambda_casing_w_per_mk
        Conductivity of the PE casing (checked to be positive; see above).
    trench
        The soil conductivity λ_s sets σ; the cover and R_0 do not enter.

    Returns
    -------
    h_a (dimensionless); see :func:`twin_pipe_heat_loss_w_per_m`.

    Raises
    ------
    ValueError
        As :func:`twin_pipe_h_s`.

    Examples
    --------
    The isoplus standard twin DN100 of :func:`twin_pipe_h_s`: r_o = 0.05715 m,
    D = 0.06965 m, r_c = 0.1534 m, σ = -0.96464, r_o/(2D) = 0.41027,
    r_c⁴ - D⁴ = 5.3020e-4 m⁴. Then ln(2D/r_o) = ln(2.43745) = 0.89095 and
    σ·ln((0.023532 + 0.004851)/(0.023532 - 0.004851)) = -0.96464 × ln(1.51938) = -0.40351.
    A = 0.41027 - 0.96464 × 0.35333 = 0.06943 and B = 1 - 0.16832 - 0.30449 = 0.52719,
    so A²/B = 0.00914, 1/h_a = 0.89095 - 0.40351 - 0.00914 = 0.47830 and h_a = 2.0908.

    >>> round(float(twin_pipe_h_a(
    ...     steel_outer_diameter_m=0.1143, media_gap_m=0.025, casing_outer_diameter_m=0.315,
    ...     casing_wall_m=0.0041, lambda_insulation_w_per_mk=0.027, lambda_casing_w_per_mk=0.4,
    ...     trench=Trench(soil_conductivity_w_per_mk=1.5, cover_depth_m=0.6),
    ... )), 4)
    2.0908
    """
    r_o, half_spacing, r_c, _, (lam_i, _, lam_s, _, _) = _twin_geometry(
        steel_outer_diameter_m=steel_outer_diameter_m,
        media_gap_m=media_gap_m,
        casing_outer_diameter_m=casing_outer_diameter_m,
        casing_wall_m=casing_wall_m,
        lambda_insulation_w_per_mk=lambda_insulation_w_per_mk,
        lambda_casing_w_per_mk=lambda_casing_w_per_mk,
        trench=trench,
    )
    sigma = (lam_i - lam_s) / (lam_i + lam_s)
    rc2, d2 = r_c**2, half_spacing**2
    rc4_minus_d4 = rc2**2 - d2**2
    ratio = r_o / (2.0 * half_spacing)
    a = ratio + sigma * 2.0 * r_o * rc2 * half_spacing / rc4_minus_d4
    b = 1.0 - ratio**2 + sigma * 2.0 * r_o**2 * rc2 * (rc2**2 + d2**2) / rc4_minus_d4**2
    inverse = np.log(2.0 * half_spacing / r_o) + sigma * np.log((rc2 + d2) / (rc2 - d2)) - a**2 / b
    return (1.0 / inverse)[()]


def twin_pipe_heat_loss_w_per_m(
    h_s: ArrayLike,
    h_a: ArrayLike,
    *,
    lambda_insulation_w_per_mk: ArrayLike,
    supply_temp_c: ArrayLike,
    return_temp_c: ArrayLike,
    ground_temp_c: ArrayLike,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Heat lost by the supply and the return pipe of a twin pipe, per metre of trench.

    The pipe temperatures split into a symmetric part, their mean against the ground, and
    an antisymmetric part, half their difference (Wallentén 1991):

    - q_s = 2π·λ_i·(h_s·((T_s + T_r)/2 - T_g) + h_a·(T_s - T_r)/2)
    - q_r = 2π·λ_i·(h_s·((T_s + T_r)/2 - T_g) - h_a·(T_s - T_r)/2)

    The pair loses q_s + q_r = 2π·λ_i·h_s·(T_s + T_r - 2·T_g). The h_a terms are the heat
    the supply pipe passes to the return pipe inside the casing. They cancel in the sum,
    so the pair's loss is as before, but the supply pipe loses more than the old split
    in proportion to excess temperature, by 2π·λ_i·(h_a - h_s)·(T_s - T_r)/2.

    Parameters
    ----------
    h_s
        Coefficient from :func:`twin_pipe_h_s`.
    h_a
        Coefficient from :func:`twin_pipe_h_a`.
    lambda_insulation_w_per_mk
        Conductivity of the insulation, λ_i.
    supply_temp_c, return_temp_c
        Water temperatures.
    ground_temp_c
        Undisturbed ground temperature.

    Returns
    -------
    tuple
        (q_supply, q_return) in W per metre of trench. A return pipe close to the ground
        temperature can gain heat (negative q_return).

    Examples
    --------
    The DN100 twin of :func:`twin_pipe_h_s` and :func:`twin_pipe_h_a` (h_s = 1.0975,
    h_a = 2.0908) at 80/50 °C, ground 10 °C: 2π·λ_i = 0.169646 W/(m·K), the symmetric
    part is 1.0975 × 55 = 60.362 K and the antisymmetric part 2.0908 × 15 = 31.362 K, so
    q_s = 0.169646 × 91.724 = 15.56 W/m and q_r = 0.169646 × 29.000 = 4.92 W/m. The
    pair's 20.48 W/m is unchanged. The supply pipe's loss is 1.19 times the old share
    in proportion to excess temperature, 20.48 × 70/110 = 13.03 W/m. The return pipe's
    is 0.66 times its old share of 7.45 W/m.

    >>> q_s, q_r = twin_pipe_heat_loss_w_per_m(
    ...     1.0975, 2.0908, lambda_insulation_w_per_mk=0.027, supply_temp_c=80.0,
    ...     return_temp_c=50.0, ground_temp_c=10.0,
    ... )
    >>> round(float(q_s), 2), round(float(q_r), 2), round(float(q_s + q_r), 2)
    (15.56, 4.92, 20.48)
    """
    ground = np.asarray(ground_temp_c, dtype=float)
    supply = np.asarray(supply_temp_c, dtype=float)
    return_ = np.asarray(return_temp_c, dtype=float)
    per_kelvin = 2.0 * np.pi * np.asarray(lambda_insulation_w_per_mk, dtype=float)
    symmetric = per_kelvin * np.asarray(h_s, dtype=float) * ((supply + return_) / 2.0 - ground)
    antisymmetric = per_kelvin * np.asarray(h_a, dtype=float) * (supply - return_) / 2.0
    return (symmetric + antisymmetric)[()], (symmetric - antisymmetric)[()]


def annual_heat_loss_mwh(
    heat_loss_w_per_m: ArrayLike, length_m: ArrayLike, hours_h: ArrayLike
) -> FloatOrArray:
    """Heat lost along a link in a year, q·L·hours.

    Parameters
    ----------
    heat_loss_w_per_m
        Heat loss per metre of trench (both pipes, for the link's total).
    length_m
        Trench length of the link.
    hours_h
        Hours a year the pipes are warm; 8,760 only for a link in service all year.

    Returns
    -------
    Heat lost in MWh per year.

    Examples
    --------
    >>> round(float(annual_heat_loss_mwh(25.8, 1500.0, 8760.0)), 1)
    339.0
    """
    energy_wh = (
        np.asarray(heat_loss_w_per_m, dtype=float)
        * np.asarray(length_m, dtype=float)
        * np.asarray(hours_h, dtype=float)
    )
    return (energy_wh / 1e6)[()]


def supply_temp_drop_k(
    supply_heat_loss_w_per_m: ArrayLike,
    length_m: ArrayLike,
    mass_flow_kg_per_s: ArrayLike,
    specific_heat_j_per_kgk: ArrayLike,
) -> FloatOrArray:
    """Fall of the supply temperature along a link, ΔT = q_s·L/(ṁ·c_p).

    The loss per metre is taken at the inlet temperature, which overstates the drop on
    long links at low flow; :func:`supply_temp_drop_exponential_k` lets it fall with the
    water temperature.

    Parameters
    ----------
    supply_heat_loss_w_per_m
        Heat loss of the supply pipe per metre.
    length_m
        Length of the link.
    mass_flow_kg_per_s
        Mass flow in the supply pipe, ≥ 0.
    specific_heat_j_per_kgk
        Specific heat capacity of the water.

    Returns
    -------
    Temperature drop in K; infinite where the mass flow is zero.

    Raises
    ------
    ValueError
        If a mass flow is negative.

    Examples
    --------
    A DN100 supply pipe losing 16.7 W/m over 1.5 km at 8 kg/s (1 MW at ΔT 30 K):

    >>> round(float(supply_temp_drop_k(16.7, 1500.0, 8.0, 4190.0)), 3)
    0.747
    """
    m_dot = np.asarray(mass_flow_kg_per_s, dtype=float)
    if np.any(m_dot < 0):
        raise ValueError("mass_flow_kg_per_s must not be negative")
    loss_w = np.asarray(supply_heat_loss_w_per_m, dtype=float) * np.asarray(length_m, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        drop = loss_w / (m_dot * np.asarray(specific_heat_j_per_kgk, dtype=float))
    return drop[()]


def supply_temp_drop_exponential_k(
    *,
    supply_heat_loss_w_per_m: ArrayLike,
    supply_temp_c: ArrayLike,
    ground_temp_c: ArrayLike,
    length_m: ArrayLike,
    mass_flow_kg_per_s: ArrayLike,
    specific_heat_j_per_kgk: ArrayLike,
) -> FloatOrArray:
    """Fall of the supply temperature along a link, with the loss falling as the water cools.

    The supply pipe's loss is taken as proportional to its excess over the ground, with
    the inlet's coefficient q_s/(T_s - T_g) per kelvin. Along the pipe
    ṁ·c_p·dT/dx = -q_s·(T - T_g)/(T_s - T_g), so the excess decays exponentially:

        ΔT = (T_s - T_g)·(1 - exp(-q_s·L/(ṁ·c_p·(T_s - T_g))))

    which is never more than :func:`supply_temp_drop_k`'s q_s·L/(ṁ·c_p), never more
    than the excess T_s - T_g, and equal to that excess at zero flow. For a twin pipe part
    of q_s is set by the return temperature rather than the supply's; that part is taken
    to scale with the supply's excess as well (assumption).

    Parameters
    ----------
    supply_heat_loss_w_per_m
        Heat loss of the supply pipe per metre at the inlet temperature, ≥ 0.
    supply_temp_c
        Supply temperature at the inlet, above the ground temperature.
    ground_temp_c
        Undisturbed ground temperature.
    length_m
        Length of the link, ≥ 0.
    mass_flow_kg_per_s
        Mass flow in the supply pipe, ≥ 0.
    specific_heat_j_per_kgk
        Specific heat capacity of the water.

    Returns
    -------
    Temperature drop in K, between 0 and T_s - T_g.

    Raises
    ------
    ValueError
        If the loss, length or mass flow is negative, or the supply is not above the
        ground temperature.

    Examples
    --------
    The DN100 twin supply pipe of :func:`twin_pipe_heat_loss_w_per_m` (15.56 W/m at
    80 °C, ground 10 °C) over 2 km loses 31.12 kW. At the design flow of 8 kg/s (1 MW at
    ΔT 30 K) the linear drop is 31,120/(8 × 4190) = 0.928 K. Then
    x = 0.928/70 = 0.01326 and ΔT = 70 × (1 - e^-0.01326) = 0.922 K. At 30 % of that flow
    (2.4 kg/s) the linear drop is 3.095 K, x = 0.04421 and ΔT = 3.027 K. At 10 %
    (0.8 kg/s) it is 9.284 K, x = 0.13263 and ΔT = 8.695 K, 6 % less than the linear
    drop. With no flow the water falls to the ground temperature, 70 K.

    >>> drops = supply_temp_drop_exponential_k(
    ...     supply_heat_loss_w_per_m=15.56, supply_temp_c=80.0, ground_temp_c=10.0,
    ...     length_m=2000.0, mass_flow_kg_per_s=np.array([8.0, 2.4, 0.8, 0.0]),
    ...     specific_heat_j_per_kgk=4190.0,
    ... )
    >>> [round(float(d), 3) for d in drops]
    [0.922, 3.027, 8.695, 70.0]
    """
    loss = _nonnegative("supply_heat_loss_w_per_m", supply_heat_loss_w_per_m)
    length = _nonnegative("length_m", length_m)
    m_dot = _nonnegative("mass_flow_kg_per_s", mass_flow_kg_per_s)
    excess_k = np.asarray(supply_temp_c, dtype=float) - np.asarray(ground_temp_c, dtype=float)
    if np.any(excess_k <= 0):
        raise ValueError("supply_temp_c must be above ground_temp_c")
    loss_w = loss * length
    capacity_w_per_k = m_dot * np.asarray(specific_heat_j_per_kgk, dtype=float)
    # NTU = (loss / capacity) / excess: the linear drop first, as supply_temp_drop_k
    # computes it, so that subnormal inputs round alike and the exponential drop never
    # exceeds the linear one. Zero (or subnormal) flow gives an infinite NTU and the whole
    # excess as the drop.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ntu = np.where(loss_w > 0, loss_w / capacity_w_per_k / excess_k, 0.0)
    return (excess_k * -np.expm1(-ntu))[()]
