"""Tests of the synthetic region generator (pipeline.datasets.synthetic)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer
from scipy import ndimage

from pipeline.datasets.synthetic import SIZES, SyntheticRegion, generate, main, write_region

SITE_COLUMNS = [
    "site_id",
    "name",
    "it_load_mw",
    "heat_output_mw",
    "source_temp_c",
    "cooling",
    "kind",
    "lat",
    "lon",
    "note",
]


@pytest.fixture(scope="module")
def small() -> SyntheticRegion:
    return generate("small", seed=0)


def count_edges(lines: np.ndarray) -> int:
    """Edges of the road graph: lines split only at vertices shared with another line."""
    xy, line = shapely.get_coordinates(lines, return_index=True)
    _, vertex = np.unique(xy, axis=0, return_inverse=True)
    vertex = vertex.ravel()
    lines_at_vertex = np.bincount(np.unique(np.column_stack([vertex, line]), axis=0)[:, 0])
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    split = (lines_at_vertex[vertex] >= 2) & ~first & ~last
    return len(lines) + int(split.sum())


def zone_demands(demand: np.ndarray, *, min_cell: float, min_zone: float) -> np.ndarray:
    """Annual demand of each zone by the Hotmaps rule (100 m cells, so MWh/ha = MWh)."""
    mask = ndimage.binary_closing(demand >= min_cell, np.ones((3, 3)))
    labels, n = ndimage.label(mask, np.ones((3, 3)))
    sums = ndimage.sum(demand, labels, np.arange(1, n + 1))
    return sums[sums >= min_zone]


def test_same_seed_gives_identical_output() -> None:
    a, b = generate("small", seed=3), generate("small", seed=3)
    assert (
        shapely.to_wkb(a.roads.geometry.values).tolist()
        == shapely.to_wkb(b.roads.geometry.values).tolist()
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.roads.drop(columns="geometry")),
        pd.DataFrame(b.roads.drop(columns="geometry")),
    )
    np.testing.assert_array_equal(a.demand, b.demand)
    assert a.transform == b.transform
    pd.testing.assert_frame_equal(a.sites, b.sites)
    c = generate("small", seed=4)
    assert not np.array_equal(a.demand, c.demand)
    assert a.sites["site_id"].tolist() == c.sites["site_id"].tolist()


def test_written_files_are_byte_identical(tmp_path: Path) -> None:
    region = generate("small", seed=0)
    digests = []
    for name in ("a", "b"):
        paths = write_region(region, tmp_path / name)
        digests.append({k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items()})
    assert digests[0] == digests[1]


@pytest.mark.parametrize("size", ["small", "10k"])
def test_edge_count_near_target(size: str) -> None:
    region = generate(size, seed=0)
    edges = count_edges(region.roads.geometry.values)
    target = SIZES[size].target_edges
    assert 0.7 * target <= edges <= 1.3 * target
    if size == "small":
        assert 5_000 <= edges <= 8_000


def test_sizes_scale_area_sites_and_blobs() -> None:
    small, bigger = generate("small", seed=0), generate("10k", seed=0)
    area = [(r.bbox[2] - r.bbox[0]) * (r.bbox[3] - r.bbox[1]) for r in (small, bigger)]
    assert area[1] > area[0]
    assert len(bigger.sites) > len(small.sites)
    assert np.count_nonzero(bigger.demand) > np.count_nonzero(small.demand)
    assert SIZES["1m"].n_sites == 200


def test_crs_and_bbox(small: SyntheticRegion) -> None:
    assert small.roads.crs.to_epsg() == 27700
    assert small.demand_crs.to_epsg() == 3035
    assert small.transform.a == 100 and small.transform.e == -100
    xmin, ymin, xmax, ymax = small.bbox
    assert 420_000 < xmin < 460_000 and 280_000 < ymin < 320_000  # England, near 440000 300000
    rxmin, rymin, rxmax, rymax = small.roads.total_bounds
    assert xmin <= rxmin and ymin <= rymin and rxmax <= xmax and rymax <= ymax
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        small.sites["lon"].to_numpy(), small.sites["lat"].to_numpy()
    )
    np.testing.assert_allclose(x, small.sites["x"], atol=0.05)
    np.testing.assert_allclose(y, small.sites["y"], atol=0.05)
    assert ((x > xmin) & (x < xmax) & (y > ymin) & (y < ymax)).all()


def test_demand_raster(small: SyntheticRegion) -> None:
    assert small.demand.dtype == np.float32
    assert small.demand.min() == 0 and small.demand.sum() > 0
    assert 300 <= small.demand.max() <= 1000  # peaks of several hundred MWh/ha
    zones = zone_demands(small.demand.astype(float), min_cell=150, min_zone=5000)
    assert len(zones) >= 5


def test_road_classes(small: SyntheticRegion) -> None:
    classes = small.roads["highway"].value_counts()
    for cls in ("residential", "tertiary", "secondary", "primary", "service", "footway"):
        assert classes.get(cls, 0) > 0
    assert classes["motorway"] == 1
    assert set(small.roads.geom_type) == {"LineString"}
    assert small.roads["road_id"].is_unique


def test_streets_cross_only_at_shared_vertices(small: SyntheticRegion) -> None:
    roads = small.roads
    streets = roads.loc[roads["highway"] != "motorway"].geometry.values
    assert shapely.is_simple(streets).all()
    left, right = shapely.STRtree(streets).query(streets, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    meet = shapely.intersection(streets[left], streets[right])
    assert set(shapely.get_type_id(meet)) <= {0, 4}  # points only, never overlaps
    xy, pair = shapely.get_coordinates(meet, return_index=True)
    vertices = {
        (int(i), x, y)
        for (x, y), i in zip(*shapely.get_coordinates(streets, return_index=True), strict=True)
    }
    assert len(xy) > 3000
    for (x, y), k in zip(xy, pair, strict=True):
        assert (int(left[k]), x, y) in vertices
        assert (int(right[k]), x, y) in vertices


def test_motorway_is_a_flyover(small: SyntheticRegion) -> None:
    roads = small.roads
    motorway = roads.loc[roads["highway"] == "motorway"].geometry.values[0]
    streets = roads.loc[roads["highway"] != "motorway"].geometry.values
    crossed = shapely.intersects(streets, motorway)
    assert crossed.sum() > 20
    street_vertices = {tuple(p) for p in shapely.get_coordinates(streets)}
    assert not street_vertices & {tuple(p) for p in shapely.get_coordinates(motorway)}


def test_special_features(small: SyntheticRegion) -> None:
    outcomes = small.expected_outcome
    assert set(outcomes.values()) == {
        "viable",
        "beyond_max_length",
        "unreachable",
        "no_road_nearby",
    }
    sites = small.sites.set_index("site_id")
    streets = small.roads.loc[small.roads["highway"] != "motorway"].geometry.values
    features = {f.name: f.geometry for f in small.features}

    def point(site_id: str) -> shapely.Point:
        return shapely.Point(sites.at[site_id, "x"], sites.at[site_id, "y"])

    # Every site but the park's stands within 250 m of a road; the park's is 400 m+ away.
    for site_id in sites.index:
        nearest = shapely.distance(streets, point(site_id)).min()
        if outcomes.get(site_id) == "no_road_nearby":
            assert nearest > 400
        else:
            assert nearest < 250
    # Only the bridge street crosses the river.
    river = features["river"]
    across = streets[shapely.intersects(streets, river)]
    assert len(across) == 1
    assert shapely.distance(across[0], features["bridge"]) < 25  # jitter + bend
    # The island's streets touch nothing outside it.
    island = features["island"].buffer(1)
    inside = shapely.within(streets, island)
    assert inside.sum() >= 8
    assert not shapely.intersects(streets[~inside], island).any()
    island_site = next(s for s, o in outcomes.items() if o == "unreachable")
    assert features["island"].contains(point(island_site))


def test_sites_table(small: SyntheticRegion, tmp_path: Path) -> None:
    paths = write_region(small, tmp_path)
    sites = pd.read_csv(paths["sites"])
    assert sites.columns.tolist() == SITE_COLUMNS
    assert sites["site_id"].is_unique
    assert sites["it_load_mw"].between(2, 40).all()
    assert set(sites["cooling"]) == {"air", "liquid"}
    assert sites["heat_output_mw"].notna().any() and sites["heat_output_mw"].isna().any()
    assert sites["name"].str.contains("Hypothetical").all()
    assert sites["note"].str.contains("hypothetical").all()
    assert set(sites["kind"]) == {"data_centre"}


def test_written_files(small: SyntheticRegion, tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--size", "small", "--seed", "0"]) == 0
    roads = gpd.read_file(tmp_path / "roads.gpkg", layer="roads")
    assert roads.crs.to_epsg() == 27700
    assert len(roads) == len(small.roads)
    with rasterio.open(tmp_path / "heat_demand.tif") as src:
        assert src.crs.to_epsg() == 3035
        assert src.res == (100.0, 100.0)
        assert src.dtypes[0] == "float32" and src.nodata == 0
        assert src.profile["compress"] == "lzw"
        np.testing.assert_array_equal(src.read(1), small.demand)


def test_unknown_size() -> None:
    with pytest.raises(ValueError, match="size must be one of"):
        generate("huge", seed=0)
