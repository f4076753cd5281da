"""Package data: the pipe catalogue and other tables shipped with heatlink.

``pipe_catalogue.csv`` carries the Logstor steel single pipes of the 2020.03 product
catalogue, as given in the ESDL Energy Data Repository, with diameters in millimetres:
series 1 (DN20-1200), 2 (DN20-600) and 3 (DN20-500), the three insulation thicknesses of
EN 253. The catalogue states no price year for ``cost_eur_per_trench_m``. Sources and
derivations are in ``docs/methodology.md``.
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

PIPE_CATALOGUE_COLUMNS = {
    "series": "int64",
    "dn": "int64",
    "inner_diameter_mm": "float64",
    "steel_outer_diameter_mm": "float64",
    "insulation_outer_diameter_mm": "float64",
    "casing_outer_diameter_mm": "float64",
    "lambda_insulation_w_per_mk": "float64",
    "lambda_casing_w_per_mk": "float64",
    "cost_eur_per_trench_m": "float64",
}


def load_pipe_catalogue() -> pd.DataFrame:
    """The shipped catalogue of steel single pre-insulated pipes.

    Returns
    -------
    pandas.DataFrame
        One row per series and DN, sorted by series then DN, with the columns of
        ``PIPE_CATALOGUE_COLUMNS``. Filter it to one series before
        :func:`pipeline.engineering.hydraulics.size_pipes`.

    Examples
    --------
    >>> catalogue = load_pipe_catalogue()
    >>> catalogue.query("series == 2 and dn == 100").iloc[0]["casing_outer_diameter_mm"]
    np.float64(225.0)
    """
    with files(__name__).joinpath("pipe_catalogue.csv").open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=PIPE_CATALOGUE_COLUMNS)
    return table.sort_values(["series", "dn"], ignore_index=True)
