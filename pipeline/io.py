"""Output helpers shared by the stages: atomic writes and GeoParquet.

Input files are read by :mod:`pipeline.readers`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def remove_stale_temps(final: Path) -> list[Path]:
    """Remove temporary files of ``final`` left by runs that were killed; return them.

    A temporary file is ``.<stem>.tmp-<pid><suffix>``, with SQLite's ``-journal``,
    ``-wal`` and ``-shm`` beside it for a GeoPackage. It is stale when no process with
    that pid is alive (or the pid is this process's own, from an earlier attempt).
    """
    removed = []
    for tmp in final.parent.glob(f".{glob.escape(final.stem)}.tmp-*"):
        pid = tmp.name.removeprefix(f".{final.stem}.tmp-").split(".", 1)[0].split("-", 1)[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it into place on success.

    Temporary files of ``final`` left by killed runs are removed first. On any exception
    the temporary file is removed and ``final`` is left as it was, so a failed run never
    leaves a half-written output.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = final.with_name(f".{final.stem}.tmp-{os.getpid()}{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in SQLITE_SIDE_FILES)):
            leftover.unlink(missing_ok=True)


def write_geoparquet(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a GeoDataFrame to GeoParquet atomically."""
    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp, index=False)
    return path


SPATIAL_ROW_GROUP = 65_536  # rows per row group of a file laid out for reading by area


def to_spatial_parquet(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write ``gdf`` to ``path`` as GeoParquet laid out for reading by area: rows sorted
    along a Hilbert curve through their bounding boxes, the ``bbox`` covering column of
    GeoParquet 1.1, and row groups of :data:`SPATIAL_ROW_GROUP` rows, so that a reader
    filtering on the bbox columns skips the row groups outside its area."""
    import numpy as np

    order = np.argsort(gdf.geometry.hilbert_distance(), kind="stable") if len(gdf) else []
    gdf.iloc[order].to_parquet(
        path, index=False, write_covering_bbox=True, row_group_size=SPATIAL_ROW_GROUP
    )


def write_point_parquet(table: pd.DataFrame, path: Path, *, crs: object) -> None:
    """Write ``table``, whose ``x`` and ``y`` columns are point coordinates in ``crs``, as
    GeoParquet 1.1 with the native ``point`` encoding (a struct of x and y), without
    making a shapely point per row (about 200 bytes each); geopandas reads it back as
    points."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyproj import CRS

    x, y = table["x"].to_numpy(dtype=float), table["y"].to_numpy(dtype=float)
    geometry = pa.StructArray.from_arrays([pa.array(x), pa.array(y)], names=["x", "y"])
    arrow = pa.Table.from_pandas(table, preserve_index=False).append_column("geometry", geometry)
    bbox = [float(x.min()), float(y.min()), float(x.max()), float(y.max())] if len(x) else []
    column = {"encoding": "point", "geometry_types": ["Point"]}
    if crs is not None:
        column["crs"] = CRS.from_user_input(crs).to_json_dict()
    if bbox:
        column["bbox"] = bbox
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    meta = {**(arrow.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
    pq.write_table(arrow.replace_schema_metadata(meta), path)


def read_geoparquet(path: Path, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """Read a stage's GeoParquet output (only ``columns`` when given); InputError naming
    the stage to rerun when it is missing, truncated or corrupt."""
    import geopandas as gpd

    fix = f"run {_writer_of(path)} again, or `make all`"
    if not path.is_file():
        raise InputError("intermediate file is missing", where=path, fix=fix)
    try:
        return gpd.read_parquet(path, columns=columns)
    except Exception as exc:  # pyarrow raises several kinds on a damaged file
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"intermediate file is truncated or corrupt ({first})", where=path, fix=fix
        ) from None


def _writer_of(path: Path) -> str:
    """The stage that writes a file of this name, or a description when none does."""
    from pipeline.paths import RegionPaths
    from pipeline.stages import STAGES

    paths = RegionPaths("region", Path("."))
    for stage in STAGES:
        if any(getattr(paths, name).name == path.name for name in stage.writes):
            return stage.name
    return "the stage that writes it"
