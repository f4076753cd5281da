"""The QGIS project beside the GeoPackage, and the run identity its layers carry."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point

from pipeline.data import load_style
from pipeline.qgis_project import (
    DOCTYPE,
    GROUPS,
    HIDDEN,
    ProjectLayer,
    spatialrefsys,
    write_qgis_project,
)
from pipeline.stages.export_geopackage import (
    GEOMETRY_TYPES,
    LAYERS,
    RUN_ID,
    STYLE_FILES,
    layers_extent,
    run_identity,
    with_run_id,
)

BNG = CRS.from_epsg(27700)
EXTENT = (530_000.0, 180_000.0, 530_400.0, 180_500.0)


def _layers() -> list[ProjectLayer]:
    return [
        ProjectLayer(name, geom, load_style(STYLE_FILES[name]) if name in STYLE_FILES else None)
        for name, geom in GEOMETRY_TYPES.items()
    ]


def _write(folder: Path, layers: list[ProjectLayer] | None = None) -> Path:
    qgz = folder / "heat_links.qgz"
    write_qgis_project(
        qgz,
        _layers() if layers is None else layers,
        gpkg=folder / "heat_links.gpkg",
        crs=BNG,
        extent=EXTENT,
        title="heatlink tiny",
    )
    return qgz


def _read(qgz: Path) -> tuple[str, ET.Element]:
    with zipfile.ZipFile(qgz) as archive:
        assert archive.namelist() == ["heat_links.qgs"]
        text = archive.read("heat_links.qgs").decode("utf-8")
    return text, ET.fromstring(text)


def test_every_geopackage_layer_is_in_exactly_one_group() -> None:
    grouped = [name for _, names in GROUPS for name in names]
    assert sorted(grouped) == sorted(LAYERS)
    assert [group for group, _ in GROUPS] == ["Recommended", "Candidates", "Inputs"]
    assert set(grouped) >= HIDDEN


def test_project_names_every_layer_relatively_with_the_ogr_provider(tmp_path: Path) -> None:
    text, doc = _read(_write(tmp_path))
    assert text.startswith(DOCTYPE)
    assert doc.tag == "qgis" and doc.get("version", "").startswith("3.22")
    layers = {m.findtext("layername"): m for m in doc.findall("projectlayers/maplayer")}
    assert list(layers) == [name for _, names in GROUPS for name in names]
    for name, layer in layers.items():
        assert layer.findtext("datasource") == f"./heat_links.gpkg|layername={name}"
        assert layer.findtext("provider") == "ogr"
        assert layer.get("wkbType") == GEOMETRY_TYPES[name]
        assert layer.findtext("srs/spatialrefsys/authid") == "EPSG:27700"
        assert str(tmp_path) not in ET.tostring(layer, encoding="unicode")
    assert layers["links"].get("geometry") == "Line"
    assert layers["demand_zones"].get("geometry") == "Polygon"
    assert doc.findtext("properties/Paths/Absolute") == "false"
    assert [e.get("id") for e in doc.findall("layerorder/layer")] == [
        f"heatlink_{name}" for name in layers
    ]


def test_layer_tree_has_the_groups_in_order_with_noisy_layers_off(tmp_path: Path) -> None:
    _, doc = _read(_write(tmp_path))
    groups = doc.findall("layer-tree-group/layer-tree-group")
    for group, (name, names) in zip(groups, GROUPS, strict=True):
        nodes = group.findall("layer-tree-layer")
        assert group.get("name") == name
        assert [n.get("name") for n in nodes] == list(names)
        for node in nodes:
            assert node.get("id") == f"heatlink_{node.get('name')}"
            assert node.get("source") == f"./heat_links.gpkg|layername={node.get('name')}"
            hidden = node.get("name") in HIDDEN
            assert node.get("checked") == ("Qt::Unchecked" if hidden else "Qt::Checked")


def test_each_layer_carries_its_style(tmp_path: Path) -> None:
    _, doc = _read(_write(tmp_path))
    for layer in doc.findall("projectlayers/maplayer"):
        name = layer.findtext("layername")
        renderer = layer.find("renderer-v2")
        if name in STYLE_FILES:
            want = ET.fromstring(load_style(STYLE_FILES[name])).find("renderer-v2")
            assert renderer is not None and renderer.get("type") == want.get("type"), name
            assert renderer.get("attr") == want.get("attr"), name
        else:
            assert renderer is None, name  # QGIS gives it a default symbol


def test_project_crs_and_view_are_the_regions(tmp_path: Path) -> None:
    _, doc = _read(_write(tmp_path))
    srs = doc.find("projectCrs/spatialrefsys")
    assert srs.findtext("authid") == "EPSG:27700" and srs.findtext("srid") == "27700"
    assert CRS.from_wkt(srs.findtext("wkt")) == BNG
    assert "+proj=tmerc" in srs.findtext("proj4")
    assert srs.findtext("description") == BNG.name
    assert doc.findtext("properties/SpatialRefSys/ProjectionsEnabled") == "1"
    canvas = doc.find("mapcanvas")
    assert canvas.findtext("units") == "meters"
    assert [float(canvas.findtext(f"extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")] == [
        *EXTENT
    ]
    assert canvas.findtext("destinationsrs/spatialrefsys/authid") == "EPSG:27700"
    default = doc.find("ProjectViewSettings/DefaultViewExtent")
    assert [float(default.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")] == [*EXTENT]


@pytest.mark.parametrize(
    ("epsg", "geographic", "proj"), [(32630, "false", "utm"), (3067, "false", "utm")]
)
def test_spatialrefsys_of_other_region_crs(epsg: int, geographic: str, proj: str) -> None:
    srs = spatialrefsys(CRS.from_epsg(epsg))
    assert srs.findtext("authid") == f"EPSG:{epsg}" and srs.findtext("srid") == str(epsg)
    assert srs.findtext("geographicflag") == geographic
    assert srs.findtext("projectionacronym") == proj
    assert srs.findtext("ellipsoidacronym").startswith("EPSG:")


def test_same_project_gives_the_same_bytes(tmp_path: Path) -> None:
    first = _write(tmp_path).read_bytes()
    assert _write(tmp_path).read_bytes() == first


def test_a_failed_write_leaves_the_previous_project(tmp_path: Path) -> None:
    qgz = _write(tmp_path)
    before = qgz.read_bytes()
    with pytest.raises(ValueError, match="no group"):
        _write(tmp_path, [*_layers(), ProjectLayer("stray", "Point")])
    assert qgz.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat_links.qgz"]


def test_geopackage_must_sit_beside_the_project(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in the folder"):
        write_qgis_project(
            tmp_path / "heat_links.qgz",
            _layers(),
            gpkg=tmp_path / "elsewhere" / "heat_links.gpkg",
            crs=BNG,
            extent=EXTENT,
        )
    assert not list(tmp_path.iterdir())


# --- run identity and extent ---------------------------------------------------------


def _frames() -> dict[str, gpd.GeoDataFrame]:
    """Every layer with its data fields: one feature in sources and links, others empty."""
    frames = {}
    for name, (_, fields) in LAYERS.items():
        data = [f for f in fields if f != RUN_ID]
        frames[name] = gpd.GeoDataFrame(columns=[*data, "geometry"], geometry="geometry", crs=BNG)
    frames["sources"] = gpd.GeoDataFrame(
        {f: [None] for f in frames["sources"].columns if f != "geometry"},
        geometry=[Point(530_010, 180_020)],
        crs=BNG,
    )
    frames["links"] = gpd.GeoDataFrame(
        {f: [None] for f in frames["links"].columns if f != "geometry"},
        geometry=[LineString([(530_000, 180_000), (530_300, 180_450)])],
        crs=BNG,
    )
    return frames


def test_with_run_id_stamps_every_layer_in_the_contracts_place() -> None:
    stamped = with_run_id(_frames(), "0123456789abcdef", "EUR")
    assert list(stamped) == list(LAYERS)
    for name, gdf in stamped.items():
        assert [c for c in gdf.columns if c != gdf.geometry.name] == LAYERS[name][1], name
        assert (gdf[RUN_ID] == "0123456789abcdef").all(), name
    assert len(stamped["sources"]) == 1 and len(stamped["networks"]) == 0


def test_run_identity_follows_what_decides_the_results() -> None:
    rows = [
        ("config", '{"routing": {"max_link_length_m": 2000}}'),
        ("crs", "EPSG:27700"),
        ("input", '{"key": "roads.path", "sha256": "aa"}'),
        ("versions", '{"heatlink": "0.1.0"}'),
        ("run_start", "2026-01-01 00:00:00,000"),
    ]
    same = run_identity(rows)
    assert run_identity([*rows[:4], ("run_start", "2030-06-30 12:00:00,000")]) == same
    for i, (key, value) in enumerate(rows[:4]):
        changed = [*rows[:i], (key, value + " "), *rows[i + 1 :]]
        assert run_identity(changed) != same, key
    assert len(same) == 16 and int(same, 16) >= 0


def test_layers_extent_covers_every_feature() -> None:
    assert layers_extent(_frames(), BNG) == (530_000.0, 180_000.0, 530_300.0, 180_450.0)


def test_layers_extent_without_features_is_the_crs_area_of_use() -> None:
    empty = {name: gdf.iloc[:0] for name, gdf in _frames().items()}
    xmin, ymin, xmax, ymax = layers_extent(empty, BNG)
    assert xmin < 0 < 600_000 < xmax and ymin < 100_000 and ymax > 1_000_000
