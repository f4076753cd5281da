"""Package data: the pipe catalogue and other tables shipped with heatlink.

``pipe_catalogue.csv`` carries the Logstor steel single pipes of the 2020.03 product
catalogue, as given in the ESDL Energy Data Repository, with diameters in millimetres:
series 1 (DN20-1200), 2 (DN20-600) and 3 (DN20-500), the three insulation thicknesses of
EN 253. The catalogue states no price year for ``cost_eur_per_trench_m``.

``twin_casings.csv`` carries the casings of steel twin pipes (both media pipes in one
casing, DN20-200), which use the same steel pipes as the single catalogue: series 1 is
the isoplus standard insulation, series 2 the isoplus reinforced one. Sources and
derivations are in ``docs/methodology.md``.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
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
    return _read_table("pipe_catalogue.csv", PIPE_CATALOGUE_COLUMNS)


TWIN_CASING_COLUMNS = {
    "series": "int64",
    "dn": "int64",
    "casing_outer_diameter_mm": "float64",
    "casing_wall_mm": "float64",
    "media_gap_mm": "float64",
}


def load_twin_casings() -> pd.DataFrame:
    """The shipped casings of steel twin pipes, DN20-200, insulation series 1 and 2.

    Returns
    -------
    pandas.DataFrame
        One row per series and DN, sorted by series then DN, with the columns of
        ``TWIN_CASING_COLUMNS``: the casing's outer diameter and PE wall, and the clear
        gap between the two steel media pipes. The steel pipes are those of
        :func:`load_pipe_catalogue` for the same DN.

    Examples
    --------
    >>> twins = load_twin_casings()
    >>> twins.query("series == 1 and dn == 100").iloc[0]["casing_outer_diameter_mm"]
    np.float64(315.0)
    """
    return _read_table("twin_casings.csv", TWIN_CASING_COLUMNS)


def _read_table(name: str, dtypes: dict[str, str]) -> pd.DataFrame:
    with files(__name__).joinpath(name).open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=dtypes)
    return table.sort_values(["series", "dn"], ignore_index=True)


ROAD_CLASS_SCHEMAS = ("osm", "geofabrik", "os_open_roads")


def load_road_classes() -> pd.DataFrame:
    """The shipped tables mapping each source's road classes onto the common classes.

    ``road_classes.csv`` has one row per source value: ``schema`` (``osm`` for the
    OpenStreetMap ``highway`` tag, ``geofabrik`` for the ``fclass`` of Geofabrik
    shapefiles, ``os_open_roads`` for OS Open Roads ``road_function`` and its derived
    values), ``raw_value`` and ``road_class`` (one of
    :data:`pipeline.config.ROAD_CLASSES`). The tables are documented in
    ``docs/road_classes.md``.

    Returns
    -------
    pandas.DataFrame
        The columns ``schema``, ``raw_value`` and ``road_class``, as strings.

    Examples
    --------
    >>> table = load_road_classes()
    >>> table.query("schema == 'geofabrik' and raw_value == 'track_grade3'").road_class.item()
    'track'
    """
    with files(__name__).joinpath("road_classes.csv").open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def load_fields() -> pd.DataFrame:
    """The GeoPackage contract: every layer's fields, in order, with unit and description.

    ``fields.csv`` has the columns ``layer``, ``field``, ``unit`` and ``description``;
    ``docs/outputs.md`` shows the same tables (a test checks that they agree). Cost
    fields are named for EUR; the export renames them for ``cost.currency``.

    Examples
    --------
    >>> load_fields().query("layer == 'links'")["field"].iloc[0]
    'link_id'
    """
    with files(__name__).joinpath("fields.csv").open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def load_style(name: str) -> str:
    """The text of a shipped QGIS style (``styles/<name>``)."""
    return files(__name__).joinpath("styles", name).read_text(encoding="utf-8")


def load_climate_stations() -> pd.DataFrame:
    """The shipped default climate series: one row per ``climate_id``.

    ``climate/stations.csv`` has the columns ``climate_id``, ``name``, ``country``,
    ``lon``, ``lat``, ``source``, ``period`` and ``licence``; the provenance of each
    series is in ``climate/README.md`` and ``docs/methodology.md``.

    Examples
    --------
    >>> "GB-london" in set(load_climate_stations()["climate_id"])
    True
    """
    with files(__name__).joinpath("climate", "stations.csv").open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"climate_id": str, "lon": "float64", "lat": "float64"})


def load_climate_series(climate_id: str) -> np.ndarray:
    """The hourly outdoor temperatures (°C, 8,760 hours) of a shipped climate series.

    Raises
    ------
    KeyError
        If no series has that ``climate_id``.

    Examples
    --------
    >>> load_climate_series("GB-london").shape
    (8760,)
    """
    with (
        files(__name__)
        .joinpath("climate", "hourly_temperature_c.csv")
        .open("r", encoding="utf-8") as f
    ):
        table = pd.read_csv(f, index_col="hour")
    if climate_id not in table:
        raise KeyError(climate_id)
    return table[climate_id].to_numpy(dtype="float64")
