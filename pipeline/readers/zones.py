"""Given demand zones: a polygon layer of zones someone else drew, with an identifier.

:func:`read_given_zones` reads ``zones.path`` through :mod:`pipeline.readers.gdal` and
refuses, with one :class:`~pipeline.errors.InputError` naming the file, a missing
identifier column, missing or repeated identifiers, and features that are not polygons:
a zone silently dropped would leave its demand out of every result.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.errors import InputError
from pipeline.readers.checks import POLYGONS, Expect, drop_outside, listing, require_columns
from pipeline.readers.gdal import choose_layer, layer_info, read_vector

KEY = "zones.path"


def read_given_zones(
    path: Path, *, id_column: str, layer: str | None, crs: CRS, region: Polygon
) -> gpd.GeoDataFrame:
    """The zones meeting the region, in ``crs``, with ``zone_id`` (text) and geometry.

    Parameters
    ----------
    path
        The polygon layer (``zones.path``).
    id_column
        Its identifier column (``zones.id_column``).
    layer
        ``zones.layer``, or None for the only layer.
    crs
        The region's CRS.
    region
        The region polygon in ``crs``; zones not meeting it are left out (logged).
    """
    info = layer_info(path, layer=choose_layer(path, layer, key=KEY))
    require_columns(
        info.fields,
        [id_column],
        file=path,
        fix="set 'zones.id_column' to the column holding each zone's identifier",
    )
    gdf = read_vector(
        path,
        key=KEY,
        layer=info.name,
        columns=[id_column],
        expect=Expect(what="zone polygons", on_bad="error"),
    )
    labels = [f"feature {i + 1}" for i in range(len(gdf))]
    _check_polygons(gdf, labels, path=path)
    ids = _check_ids(gdf[id_column], labels, path=path, id_column=id_column)
    zones = gpd.GeoDataFrame({"zone_id": ids}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    zones = drop_outside(zones.to_crs(crs), region, file=path, what="zones")
    if zones.empty:
        raise InputError(
            "no zone lies in the region",
            where=path,
            fix="check 'region.bbox' and the layer's CRS, or point 'zones.path' at this "
            "region's zones",
        )
    return zones.reset_index(drop=True)


def _check_polygons(gdf: gpd.GeoDataFrame, labels: list[str], *, path: Path) -> None:
    other = ~gdf.geom_type.isin(list(POLYGONS)).to_numpy()
    if other.any():
        kinds = ", ".join(sorted(set(gdf.geom_type[other])))
        raise InputError(
            f"zones must be polygons; {kinds} at "
            f"{listing([lab for lab, o in zip(labels, other, strict=True) if o])}",
            where=path,
            fix="delete those features, or buffer them into polygons in QGIS",
        )


def _check_ids(values: object, labels: list[str], *, path: Path, id_column: str) -> list[str]:
    """The identifiers as text; InputError when one is missing or repeated."""
    import pandas as pd

    values = pd.Series(values).reset_index(drop=True)
    text = values.astype(str).str.strip()
    missing = (values.isna() | (text == "")).to_numpy()
    if missing.any():
        rows = [lab for lab, m in zip(labels, missing, strict=True) if m]
        raise InputError(
            f"zones without an identifier in '{id_column}' at {listing(rows)}",
            where=path,
            fix="give every zone an identifier",
        )
    repeated = text[text.duplicated(keep=False)]
    if len(repeated):
        ids = list(np.unique(repeated))
        raise InputError(
            f"zone identifiers in '{id_column}' are repeated: {listing(ids)}",
            where=path,
            fix="give each zone its own identifier, or dissolve the repeated zones into one",
        )
    return text.tolist()
