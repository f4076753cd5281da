"""Unit tests of ingest_roads: readers for each format, class mapping, Overpass caching.

Every fixture is built here, small, in the real format: an OS Open Roads-like GeoPackage,
a Geofabrik-like zipped shapefile, OSM PBF and .osm.bz2 files. No test touches the network.
"""

from __future__ import annotations

import logging
import re
import socket
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import LineString, Polygon, box

import pipeline.stages.ingest_roads as ingest_roads
from conftest import REPO, X0, Y0, grid_roads, tiny_config, to_lonlat
from pipeline.config import (
    DEFAULT_ROAD_CLASS_RULES,
    ROAD_CLASSES,
    RegionFile,
    RoadClassRule,
    RoadsConfig,
    load_region_file,
)
from pipeline.data import ROAD_CLASS_SCHEMAS, load_road_classes
from pipeline.errors import InputError
from pipeline.paths import RegionPaths
from pipeline.readers import overpass
from pipeline.readers.osm import read_osm_roads, way_lines
from pipeline.readers.overpass import overpass_cache_path
from pipeline.stages.build_road_graph import build_road_graph, graph_from_tables
from pipeline.stages.ingest_roads import (
    classify_roads,
    os_open_roads_classes,
    read_gdal_roads,
    select_roads,
)

REGION = box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 500)
BNG = CRS.from_epsg(27700)
WORLD = (-180.0, -90.0, 180.0, 90.0)


def _region_wgs84() -> Polygon:
    corners = [to_lonlat(x, y) for x, y in REGION.exterior.coords]
    return Polygon(corners).buffer(0.01)


def _line(dx: float = 0, dy: float = 0, length: float = 100) -> LineString:
    return LineString([(X0 + dx, Y0 + dy), (X0 + dx + length, Y0 + dy)])


# --- fixtures in each format ------------------------------------------------------------


def _write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple]) -> None:
    with osmium.SimpleWriter(str(path)) as w:
        for nid, (lon, lat) in sorted(nodes.items()):
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), tags={}))
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))


CLIPPED_NODES = {i: (-0.1 + 0.001 * i, 51.5) for i in range(1, 6)}
# way 10 refers to node 99, which is not in the file (a clipped extract)
CLIPPED_WAYS = [
    (10, [1, 2, 99, 3, 4, 5], {"highway": "residential", "name": "A Street"}),
    (11, [1, 99], {"highway": "service"}),
    (12, [2, 3], {"building": "yes"}),
    (13, [4, 5], {"highway": "footway;service"}),
]


def write_os_open_roads(path: Path) -> gpd.GeoDataFrame:
    """An OS Open Roads-like GeoPackage: road_link (EPSG:27700) and road_node layers."""
    links = gpd.GeoDataFrame(
        {
            "road_function": [
                "Motorway",
                "A Road",
                "A Road",
                "A Road",
                "B Road",
                "Minor Road",
                "Local Road",
                "Restricted Local Access Road",
                "Secondary Access Road",
            ],
            "road_classification": ["Motorway", "Motorway", "A Road", "A Road"]
            + ["B Road", "Classified Unnumbered", "Unclassified", "Not Classified", "Unknown"],
            "form_of_way": ["Dual Carriageway", "Slip Road", "Single Carriageway"]
            + ["Single Carriageway"] * 6,
            "trunk_road": [True, False, True] + [False] * 6,
            "primary_route": [True, False, True, True] + [False] * 5,
            "name_1": ["", "", "London Road", "High Street", "", "", "Mill Lane", "", ""],
        },
        geometry=[_line(dy=20 * i) for i in range(9)],
        crs=27700,
    )
    links.to_file(path, layer="road_link", driver="GPKG")
    nodes = gpd.GeoDataFrame({"form_of_road_node": ["junction"]}, geometry=[box(0, 0, 1, 1)])
    nodes.set_crs(27700).to_file(path, layer="road_node", driver="GPKG")
    return links


def write_shp_zip(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """A Geofabrik-like download: each layer a shapefile, zipped together."""
    folder = path.parent / (path.name + ".parts")
    folder.mkdir()
    for name, gdf in layers.items():
        gdf.to_file(folder / f"{name}.shp", driver="ESRI Shapefile")
    with zipfile.ZipFile(path, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return path


def geofabrik_layers() -> dict[str, gpd.GeoDataFrame]:
    fclass = ["motorway", "motorway_link", "residential", "track_grade2", "unknown", "bogus"]
    roads = gpd.GeoDataFrame(
        {
            "osm_id": [str(100 + i) for i in range(len(fclass))],
            "code": 5100,
            "fclass": fclass,
            "name": ["M1", None, "Church Lane", None, None, None],
        },
        geometry=[_line(dy=20 * i) for i in range(len(fclass))],
        crs=27700,
    ).to_crs(4326)
    rail = gpd.GeoDataFrame(
        {"osm_id": ["1"], "fclass": ["rail"]}, geometry=[_line(dy=300)], crs=27700
    ).to_crs(4326)
    return {"gis_osm_railways_free_1": rail, "gis_osm_roads_free_1": roads}


# --- the mapping table -------------------------------------------------------------------


class TestMappingTable:
    def test_every_value_maps_to_a_common_class(self) -> None:
        table = load_road_classes()
        assert list(table.columns) == ["schema", "raw_value", "road_class"]
        assert set(table["schema"]) == set(ROAD_CLASS_SCHEMAS)
        assert set(table["road_class"]) <= set(ROAD_CLASSES)
        keys = table["schema"] + "/" + table["raw_value"].str.lower()
        assert not keys.duplicated().any(), keys[keys.duplicated()].tolist()

    def test_motorways_and_slip_roads_are_not_followed_by_default(self) -> None:
        table = load_road_classes().set_index(["schema", "raw_value"])["road_class"]
        for key in [
            ("osm", "motorway_link"),
            ("geofabrik", "motorway_link"),
            ("os_open_roads", "motorway slip road"),
        ]:
            assert table[key] == "motorway"
        assert not DEFAULT_ROAD_CLASS_RULES["motorway"].follow
        assert not DEFAULT_ROAD_CLASS_RULES["other"].follow

    def test_the_documented_table_is_the_shipped_one(self) -> None:
        """docs/road_classes.md lists exactly the rows of road_classes.csv."""
        text = (REPO / "docs" / "road_classes.md").read_text()
        documented = set()
        for schema, cells, road_class in re.findall(
            r"^\| `(\w+)` \| (.+?) \| `(\w+)` \|$", text, flags=re.MULTILINE
        ):
            documented |= {(schema, v, road_class) for v in re.findall(r"`([^`]+)`", cells)}
        shipped = set(load_road_classes().itertuples(index=False, name=None))
        assert documented == shipped

    def test_the_documented_rules_are_the_defaults(self) -> None:
        text = (REPO / "docs" / "road_classes.md").read_text()
        rows = re.findall(r"^\| `(\w+)` \| (yes|no) \| ([0-9.]+) \|$", text, flags=re.MULTILINE)
        documented = {c: RoadClassRule(follow=f == "yes", cost_factor=float(x)) for c, f, x in rows}
        assert documented == DEFAULT_ROAD_CLASS_RULES


class TestClassify:
    def test_osm_values(self) -> None:
        raw = pd.Series(["motorway_link", "living_street", "cycleway", "steps", "proposed"])
        classes, unmapped = classify_roads(raw, schema="osm")
        assert classes.tolist() == ["motorway", "residential", "footway", "footway", "other"]
        assert unmapped == {}

    def test_unmapped_values_are_other_and_counted(self) -> None:
        raw = pd.Series(["residential", "hovercraft", "hovercraft", None])
        classes, unmapped = classify_roads(raw, schema="osm")
        assert classes.tolist() == ["residential", "other", "other", "other"]
        assert unmapped == {"hovercraft": 2, "(empty)": 1}

    def test_class_map_wins_and_ignores_case(self) -> None:
        raw = pd.Series(["Hovercraft", "motorway", "RESIDENTIAL"])
        classes, unmapped = classify_roads(
            raw, schema="osm", class_map={"hovercraft": "track", "Motorway": "trunk"}
        )
        assert classes.tolist() == ["track", "trunk", "residential"]
        assert unmapped == {}

    def test_multi_values_use_the_last_known_part(self) -> None:
        classes, _ = classify_roads(pd.Series(["footway;service", "x;track"]), schema="osm")
        assert classes.tolist() == ["service", "track"]

    def test_any_schema_tries_every_table(self) -> None:
        raw = pd.Series(["A Road", "track_grade1", "primary"])
        assert classify_roads(raw, schema="any")[0].tolist() == ["primary", "track", "primary"]

    def test_os_open_roads_qualifiers(self, tmp_path: Path) -> None:
        links = write_os_open_roads(tmp_path / "roads.gpkg")
        raw = os_open_roads_classes(links)
        assert raw.tolist() == [
            "Motorway",
            "A Road; motorway slip road",
            "A Road; trunk road",
            "A Road; primary route",
            "B Road",
            "Minor Road",
            "Local Road",
            "Restricted Local Access Road",
            "Secondary Access Road",
        ]
        classes, unmapped = classify_roads(raw, schema="os_open_roads")
        assert classes.tolist() == [
            "motorway",
            "motorway",
            "trunk",
            "trunk",
            "secondary",
            "tertiary",
            "residential",
            "service",
            "service",
        ]
        assert unmapped == {}


class TestSelect:
    def _roads(self, classes: list[str]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"road_class": classes, "road_class_source": classes},
            geometry=[_line(dy=10 * i) for i in range(len(classes))],
            crs=27700,
        )

    def test_motorways_are_not_followed_by_default(self) -> None:
        roads = self._roads(["motorway", "primary", "other", "footway"])
        kept = select_roads(roads, rules=DEFAULT_ROAD_CLASS_RULES, region=REGION, crs=BNG)
        assert kept["road_class"].tolist() == ["primary", "footway"]
        assert kept["cost_factor"].tolist() == [1.4, 0.8]
        assert list(kept.columns) == [
            "road_class",
            "road_class_source",
            "cost_factor",
            "name",
            "osm_id",
            "geometry",
        ]
        assert kept["osm_id"].dtype == "Int64" and kept["osm_id"].isna().all()

    def test_rules_from_the_config(self) -> None:
        cfg = RoadsConfig(
            path=Path("x.gpkg"),
            classes={"motorway": {"follow": True, "cost_factor": 3}, "footway": {"follow": False}},
        )
        rules = cfg.rules()
        assert rules["motorway"] == RoadClassRule(follow=True, cost_factor=3)
        kept = select_roads(
            self._roads(["motorway", "footway", "residential"]), rules=rules, region=REGION, crs=BNG
        )
        assert kept["road_class"].tolist() == ["motorway", "residential"]
        assert kept["cost_factor"].tolist() == [3.0, 1.0]

    def test_reprojects_explodes_and_keeps_the_region(self) -> None:
        multi = shapely.MultiLineString([_line(), _line(dy=50)])
        far = _line(dx=50_000)
        roads = gpd.GeoDataFrame(
            {"road_class": ["residential", "residential"]}, geometry=[multi, far], crs=27700
        ).to_crs(4326)
        kept = select_roads(roads, rules=DEFAULT_ROAD_CLASS_RULES, region=REGION, crs=BNG)
        assert len(kept) == 2 and set(kept.geom_type) == {"LineString"}
        assert kept.crs.equals(BNG)
        assert kept.length.sum() == pytest.approx(200, abs=0.1)
        assert kept["road_class_source"].tolist() == ["residential"] * 2


# --- OSM files --------------------------------------------------------------------------


class TestOsm:
    @pytest.mark.parametrize("suffix", [".osm.pbf", ".osm.bz2", ".osm"])
    def test_clipped_extract_keeps_the_parts_present(self, tmp_path: Path, suffix: str) -> None:
        path = tmp_path / f"clipped{suffix}"
        _write_osm(path, CLIPPED_NODES, CLIPPED_WAYS)
        roads = read_osm_roads(path, WORLD)
        assert roads["osm_id"].tolist() == [10, 10, 13]
        assert [len(g.coords) for g in roads.geometry] == [2, 3, 2]
        assert roads["road_class_source"].tolist() == ["residential", "residential"] + [
            "footway;service"
        ]
        assert roads["name"].tolist() == ["A Street", "A Street", ""]
        assert roads.crs.equals(CRS.from_epsg(4326))

    def test_only_lines_meeting_the_box(self, tmp_path: Path) -> None:
        path = tmp_path / "x.osm.pbf"
        _write_osm(path, CLIPPED_NODES, CLIPPED_WAYS)
        roads = read_osm_roads(path, (-0.0965, 51.4, -0.09, 51.6))  # nodes 4 and 5 only
        assert roads["osm_id"].tolist() == [10, 13]

    def test_not_an_osm_file(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.osm.pbf"
        path.write_bytes(b"\x00\x01garbage")
        with pytest.raises(InputError, match="bad.osm.pbf: pyosmium cannot read"):
            read_osm_roads(path, WORLD)

    def test_way_lines_matches_a_plain_loop(self) -> None:
        """The vectorised run splitting agrees with a per-way loop on random clipped ways."""
        rng = np.random.default_rng(3)
        way_len = rng.integers(2, 8, size=200)
        refs = rng.integers(1, 60, size=way_len.sum())
        present = np.unique(rng.choice(np.arange(1, 60), size=45, replace=False))
        xy = np.column_stack([present * 1.0, present * 2.0])
        lines, way_index, clipped = way_lines(refs, way_len, present[::-1], xy[::-1])
        expected, expected_way = [], []
        for w, part in enumerate(np.split(refs, np.cumsum(way_len)[:-1])):
            run: list[int] = []
            for r in [*part.tolist(), None]:
                if r is not None and r in set(present.tolist()):
                    run.append(r)
                    continue
                if len(run) >= 2:
                    expected.append([(float(r), 2.0 * r) for r in run])
                    expected_way.append(w)
                run = []
        assert [list(g.coords) for g in lines] == expected
        assert way_index.tolist() == expected_way
        splits = np.split(refs, np.cumsum(way_len)[:-1])
        assert clipped.tolist() == [not np.isin(p, present).all() for p in splits]


# --- GDAL files -------------------------------------------------------------------------


class TestGdal:
    def test_os_open_roads_geopackage(self, tmp_path: Path) -> None:
        path = tmp_path / "oproad_gb.gpkg"
        write_os_open_roads(path)
        source = read_gdal_roads(path, layer=None, class_column=None, region_wgs84=_region_wgs84())
        assert source.schema == "os_open_roads"
        roads = source.roads
        assert roads.crs.equals(BNG) and len(roads) == 9
        assert roads["road_class_source"].iloc[2] == "A Road; trunk road"
        assert roads["name"].iloc[2] == "London Road"
        assert roads["osm_id"].isna().all()

    def test_geofabrik_zip_read_in_place(self, tmp_path: Path) -> None:
        path = write_shp_zip(tmp_path / "county-latest-free.shp.zip", geofabrik_layers())
        source = read_gdal_roads(path, layer=None, class_column=None, region_wgs84=_region_wgs84())
        assert source.schema == "geofabrik"
        roads = source.roads
        assert roads["osm_id"].tolist() == [100, 101, 102, 103, 104, 105]
        assert roads["name"].tolist()[:3] == ["M1", "", "Church Lane"]
        classes, unmapped = classify_roads(roads["road_class_source"], schema="geofabrik")
        assert classes.tolist() == ["motorway", "motorway", "residential", "track"] + [
            "other",
            "other",
        ]
        assert unmapped == {"bogus": 1}

    def test_zip_without_road_layer_lists_layers(self, tmp_path: Path) -> None:
        layers = geofabrik_layers()
        del layers["gis_osm_roads_free_1"]
        layers["gis_osm_buildings_a_free_1"] = gpd.GeoDataFrame(
            {"osm_id": ["7"]}, geometry=[box(0, 51, 0.001, 51.001)], crs=4326
        )
        path = write_shp_zip(tmp_path / "x-free.shp.zip", layers)
        with pytest.raises(InputError) as err:
            read_gdal_roads(path, layer=None, class_column=None, region_wgs84=_region_wgs84())
        msg = str(err.value)
        assert "x-free.shp.zip: the zip holds no road layer" in msg
        assert "gis_osm_railways_free_1 (LineString)" in msg
        assert "gis_osm_buildings_a_free_1 (Polygon)" in msg and "roads.layer" in msg

    def test_geopackage_without_the_configured_layer(self, tmp_path: Path) -> None:
        path = tmp_path / "oproad.gpkg"
        write_os_open_roads(path)
        with pytest.raises(InputError, match=r"no layer 'roads' \(layers: road_link"):
            read_gdal_roads(path, layer="roads", class_column=None, region_wgs84=_region_wgs84())

    def test_no_class_column_gets_the_default_class_and_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "lines.gpkg"
        grid_roads().rename(columns={"highway": "kind"}).to_file(path, driver="GPKG")
        with caplog.at_level(logging.WARNING):
            source = read_gdal_roads(
                path, layer=None, class_column=None, region_wgs84=_region_wgs84()
            )
        assert source.schema == "none" and len(source.roads) == 10
        assert (source.roads["road_class_source"] == "").all()
        text = caplog.text
        assert "no road-class column" in text and "columns: kind" in text
        assert "all 10 lines get roads.default_class 'unclassified'" in text
        assert "roads.class_column" in text
        source = read_gdal_roads(
            path, layer=None, class_column="kind", region_wgs84=_region_wgs84()
        )
        assert source.schema == "any"
        with pytest.raises(InputError, match="no road-class column 'typ'"):
            read_gdal_roads(path, layer=None, class_column="typ", region_wgs84=_region_wgs84())

    def test_points_are_not_roads(self, tmp_path: Path) -> None:
        path = tmp_path / "points.gpkg"
        gpd.GeoDataFrame(
            {"highway": ["bus_stop"]}, geometry=gpd.points_from_xy([X0], [Y0]), crs=27700
        ).to_file(path, driver="GPKG")
        with pytest.raises(InputError, match="Point geometries, not road lines"):
            read_gdal_roads(path, layer=None, class_column=None, region_wgs84=_region_wgs84())


# --- the stage, end to end --------------------------------------------------------------


def test_run_writes_the_common_classes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_shp_zip(tmp_path / "county-latest-free.shp.zip", geofabrik_layers())
    cfg = tiny_config(
        tmp_path, {"path": str(path), "classes": {"track": {"follow": True, "cost_factor": 0.5}}}
    )
    paths = RegionPaths("tiny", tmp_path)
    with caplog.at_level(logging.INFO, logger="heatlink.ingest_roads"):
        ingest_roads.run(paths, cfg)
    roads = gpd.read_parquet(paths.roads)
    assert roads["road_class"].tolist() == ["residential", "track"]
    assert roads["road_class_source"].tolist() == ["residential", "track_grade2"]
    assert roads["cost_factor"].tolist() == [1.0, 0.5]
    assert roads["osm_id"].tolist() == [102, 103]
    assert roads.crs.equals(BNG)
    assert "bogus=1" in caplog.text and "roads.class_map" in caplog.text
    assert "not followed (may still be crossed): motorway=2, other=2" in caplog.text


def test_graph_edges_carry_the_cost_factor() -> None:
    roads = grid_roads(3).rename(columns={"highway": "road_class"})
    roads["cost_factor"] = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    nodes, edges = build_road_graph(roads)
    assert sorted(set(edges["cost_factor"])) == [1.0, 2.0]
    G = graph_from_tables(nodes, edges)
    assert {d["cost_factor"] for *_, d in G.edges(data=True)} == {1.0, 2.0}
    _, bare = build_road_graph(roads.drop(columns="cost_factor"))
    assert (bare["cost_factor"] == 1.0).all()
    G = graph_from_tables(nodes, edges.drop(columns="cost_factor"))
    assert {d["cost_factor"] for *_, d in G.edges(data=True)} == {1.0}


# --- Overpass through osmnx, without the network ---------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a name or open a connection fails, as when offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise socket.gaierror("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _overpass_json() -> dict:
    """An Overpass answer in the shape osmnx asks for: highway ways and nodes."""
    pts = {1: (X0, Y0), 2: (X0 + 200, Y0), 3: (X0 + 200, Y0 + 200), 4: (X0 + 100, Y0 + 100)}
    nodes = []
    for nid, (x, y) in pts.items():
        lon, lat = to_lonlat(x, y)
        nodes.append({"type": "node", "id": nid, "lon": lon, "lat": lat})
    nodes[3]["tags"] = {"highway": "bus_stop"}
    ways = [
        {"type": "way", "id": 50, "nodes": [1, 2], "tags": {"highway": "residential", "name": "A"}},
        {"type": "way", "id": 51, "nodes": [2, 3], "tags": {"highway": "motorway"}},
    ]
    return {"elements": nodes + ways}


def _overpass_cfg(tmp_path: Path) -> RegionFile:
    corners = [to_lonlat(x, y) for x, y in REGION.exterior.coords]
    return tiny_config(tmp_path, {"overpass_polygon_wgs84": corners})


def test_overpass_download_is_cached_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    import osmnx as ox

    calls = []

    def fake_request(data: dict) -> dict:
        calls.append(data["data"])
        return _overpass_json()

    monkeypatch.setattr(ox._overpass, "_overpass_request", fake_request)
    monkeypatch.setattr(overpass, "check_overpass_reachable", lambda: None)
    cfg = _overpass_cfg(tmp_path)
    paths = RegionPaths("tiny", tmp_path)
    use_cache = ox.settings.use_cache
    ingest_roads.run(paths, cfg)
    assert len(calls) == 1 and "highway" in calls[0]
    assert ox.settings.use_cache == use_cache  # osmnx settings restored
    cache = overpass_cache_path(cfg.roads, tmp_path / "data" / "raw" / "tiny")
    assert re.fullmatch(r"roads_overpass_[0-9a-f]{12}\.gpkg", cache.name) and cache.is_file()
    assert not (tmp_path / "cache").exists()  # osmnx wrote no cache of its own
    cached = gpd.read_file(cache)
    assert cached["osm_id"].tolist() == [50, 51]
    assert cached["highway"].tolist() == ["residential", "motorway"]
    roads = gpd.read_parquet(paths.roads)
    assert roads["osm_id"].tolist() == [50] and roads["name"].tolist() == ["A"]
    assert roads.length.sum() == pytest.approx(200, abs=0.5)

    def fail(data: dict) -> dict:
        raise AssertionError("downloaded again despite the cache")

    monkeypatch.setattr(ox._overpass, "_overpass_request", fail)
    paths.roads.unlink()
    ingest_roads.run(paths, cfg)
    assert gpd.read_parquet(paths.roads)["osm_id"].tolist() == [50]


def test_overpass_place_uses_its_own_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    import osmnx as ox

    places = []

    def fake_place(query: str, tags: dict) -> gpd.GeoDataFrame:
        places.append(query)
        features = gpd.GeoDataFrame(
            {"element": ["way", "node"], "id": [7, 8], "highway": ["service", "crossing"]},
            geometry=[_line(), shapely.Point(X0, Y0)],
            crs=27700,
        ).to_crs(4326)
        return features.set_index(["element", "id"])

    monkeypatch.setattr(ox, "features_from_place", fake_place)
    monkeypatch.setattr(overpass, "check_overpass_reachable", lambda: None)
    cfg = tiny_config(tmp_path, {"overpass_place": "Oakham, Rutland, UK"})
    paths = RegionPaths("tiny", tmp_path)
    ingest_roads.run(paths, cfg)
    assert places == ["Oakham, Rutland, UK"]
    assert gpd.read_parquet(paths.roads)["road_class"].tolist() == ["service"]
    polygon_cache = overpass_cache_path(_overpass_cfg(tmp_path).roads, tmp_path)
    place_cache = overpass_cache_path(cfg.roads, tmp_path)
    assert polygon_cache != place_cache


def test_overpass_offline_says_how_to_give_a_file(tmp_path: Path, no_network: None) -> None:
    cfg = _overpass_cfg(tmp_path)
    paths = RegionPaths("tiny", tmp_path)
    with pytest.raises(InputError) as err:
        ingest_roads.run(paths, cfg)
    msg = str(err.value)
    assert msg.startswith("roads.overpass_polygon_wgs84: the Overpass download failed")
    assert "'roads.path'" in msg and "geofabrik" in msg.lower()
    assert "\n" not in msg
    assert not (tmp_path / "data" / "raw").exists() or not any(
        (tmp_path / "data" / "raw").rglob("*.gpkg")
    )
    assert not paths.roads.exists()


# --- the example region files -----------------------------------------------------------


EXAMPLES = sorted((REPO / "data" / "regions" / "examples").glob("*.yml"))


def test_there_are_examples() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "geofabrik_county_pbf.yml",
        "os_open_roads.yml",
        "geofabrik_shapefile.yml",
        "overpass_place.yml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_region_files_validate(path: Path) -> None:
    cfg = load_region_file(path, root=REPO)
    assert cfg.crs.is_projected
    assert cfg.heat_demand.units == "MWh/ha/yr"
    if cfg.roads.path is not None:
        assert cfg.roads.path.is_relative_to(REPO / "data" / "raw")


def test_the_region_extent_of_a_shapefile_zip_is_its_road_layer(tmp_path: Path) -> None:
    """Without region.bbox, a Geofabrik zip's extent is its roads', not its other layers'."""
    from pipeline.readers.extent import file_extent_wgs84

    layers = geofabrik_layers()
    path = write_shp_zip(tmp_path / "county-latest-free.shp.zip", layers)
    roads = layers["gis_osm_roads_free_1"]
    others = pd.concat([gdf for name, gdf in layers.items() if name != "gis_osm_roads_free_1"])
    assert not np.allclose(others.total_bounds, roads.total_bounds)
    got = file_extent_wgs84(path, key="roads.path", roads=True)
    assert got == pytest.approx(tuple(roads.total_bounds), abs=1e-9)
