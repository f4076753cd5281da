"""Thin I/O helpers shared by the stages: atomic writes and vector files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from pipeline.errors import InputError

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


def read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """Read a stage's GeoParquet output, saying which stage to run when it is missing."""
    if not path.is_file():
        raise InputError(
            "intermediate file is missing",
            where=path,
            fix="run the stage that writes it first, or `make all`",
        )
    return gpd.read_parquet(path)


def require_file(path: Path, *, key: str) -> None:
    """Stop with a one-line message when an input file named by config key is missing."""
    if not path.exists():
        raise InputError(
            f"file not found (set by '{key}')",
            where=path,
            fix=f"check '{key}' in the region file; relative paths start at the project root",
        )


def list_layers(
    path: Path, *, fix: str = "give a GeoPackage, Shapefile, GeoJSON or other format GDAL reads"
) -> list[tuple[str, str]]:
    """``(name, geometry type)`` of each layer of a GDAL vector file; InputError when GDAL
    cannot open it."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise InputError(
            f"GDAL cannot read this file ({str(exc).splitlines()[0]})", where=path, fix=fix
        ) from None
    return [(str(n), str(t)) for n, t in layers]


def read_csv(path: Path, *, fix: str, **kwargs: object) -> pd.DataFrame:
    """Read a CSV with pandas; InputError (naming the file and ``fix``) when it cannot."""
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"not a readable CSV ({str(exc).splitlines()[0]})", where=path, fix=fix
        ) from None


def read_vector(
    path: Path,
    *,
    key: str,
    layer: str | None = None,
    columns: list[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a GDAL vector layer with pyogrio, turning GDAL failures into InputError.

    Parameters
    ----------
    path
        The file.
    key
        The config key that named it, for messages.
    layer
        Layer name; required when the file has several layers.
    columns
        Columns to read; all when None.
    bbox
        Only features intersecting this box, in the layer's CRS.
    where
        An OGR SQL condition on the layer's columns.
    """
    require_file(path, key=key)
    names = [name for name, _ in list_layers(path)]
    if layer is None and len(names) > 1:
        raise InputError(
            f"file has {len(names)} layers ({', '.join(names)})",
            where=path,
            fix=f"choose one with '{key.rsplit('.', 1)[0]}.layer'",
        )
    if layer is not None and layer not in names:
        raise InputError(
            f"no layer '{layer}' (layers: {', '.join(names)})",
            where=path,
            fix=f"set '{key.rsplit('.', 1)[0]}.layer' to one of them",
        )
    if columns is not None:
        fields = pyogrio.read_info(path, layer=layer)["fields"]
        missing = [c for c in columns if c not in fields]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)} (columns: {', '.join(fields)})",
                where=path,
                fix="rename the column or set the matching key in the region file",
            )
    try:
        return pyogrio.read_dataframe(
            path, layer=layer, columns=columns, bbox=bbox, where=where, use_arrow=True
        )
    except Exception as exc:
        if where:
            raise InputError(
                f"GDAL failed reading this file with the filter {where!r} "
                f"({str(exc).splitlines()[0]})",
                where=path,
                fix="check the filter uses the layer's column names, e.g. \"kind = 'heat'\"",
            ) from None
        raise InputError(
            f"GDAL failed reading this file ({str(exc).splitlines()[0]})",
            where=path,
            fix="check the file opens in QGIS or ogrinfo",
        ) from None
