"""The OSM road reader on small PBF and XML files written here with pyosmium's writer.

Node locations go through a pyosmium index and way lines through WKB; these tests pin the
ways, tags and coordinates it returns, including clipped ways (nodes missing from the
file) and files whose ways come before their nodes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely

from pipeline.readers.osm import read_osm_roads

WORLD = (-180.0, -90.0, 180.0, 90.0)

# nodes 1-8 along a street, 20-22 across it; node 1 is shared (a junction)
NODES = {i: (-1.5 + 0.0013 * i, 52.25 + 0.0007 * i) for i in range(1, 9)}
NODES |= {20: (-1.49, 52.24), 21: (-1.491, 52.2411), 22: (-1.4923, 52.2433)}
WAYS = [
    (100, [1, 2, 3, 4], {"highway": "residential", "name": "Mill Lane"}),
    # node 55 is not in the file (a clipped extract): two parts, [5, 6] and [7, 8]
    (101, [4, 5, 6, 55, 7, 8], {"highway": "tertiary"}),
    (102, [20, 21, 22, 1], {"highway": "footway;service", "name": "Path"}),
    # only one located node between missing ones: no line
    (103, [56, 3, 57], {"highway": "service"}),
    (104, [2], {"highway": "service"}),  # a single node: no line
    (105, [20, 22], {"building": "yes"}),  # not a highway
    (106, [2, 2, 3], {"highway": "track"}),  # a repeated node is kept
]


def _xy(nid: int) -> tuple[float, float]:
    """A node's location as OSM stores it (fixed point, 1e-7 degrees)."""
    lon, lat = NODES[nid]
    return (round(lon * 1e7) / 1e7, round(lat * 1e7) / 1e7)


EXPECTED = [  # osm_id, highway, name, node ids of the line
    (100, "residential", "Mill Lane", [1, 2, 3, 4]),
    (101, "tertiary", "", [4, 5, 6]),
    (101, "tertiary", "", [7, 8]),
    (102, "footway;service", "Path", [20, 21, 22, 1]),
    (106, "track", "", [2, 2, 3]),
]


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float]],
    ways: list[tuple],
    *,
    ways_first: bool = False,
) -> Path:
    """Write nodes and ways with pyosmium; the ways first if asked (as Overpass may)."""

    def add_nodes(w: osmium.SimpleWriter) -> None:
        for nid, (lon, lat) in sorted(nodes.items()):
            tags = {"highway": "traffic_signals"} if nid == 3 else {}
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), tags=tags))

    def add_ways(w: osmium.SimpleWriter) -> None:
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))

    with osmium.SimpleWriter(str(path)) as w:
        for add in (add_ways, add_nodes) if ways_first else (add_nodes, add_ways):
            add(w)
    return path


@pytest.mark.parametrize(
    ("name", "ways_first"),
    [("roads.osm.pbf", False), ("roads.osm.pbf", True), ("roads.osm", True)],
)
def test_ways_tags_and_geometries(
    tmp_path: Path, name: str, ways_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_osm(tmp_path / name, NODES, WAYS, ways_first=ways_first)
    with caplog.at_level(logging.INFO, logger="heatlink.readers.osm"):
        roads = read_osm_roads(path, WORLD)
    assert roads.columns.tolist() == ["osm_id", "road_class_source", "name", "geometry"]
    assert roads["osm_id"].dtype == np.int64
    got = [
        (i, c, n, list(g.coords))
        for i, c, n, g in zip(
            roads["osm_id"], roads["road_class_source"], roads["name"], roads.geometry, strict=True
        )
    ]
    assert got == [(i, c, n, [_xy(r) for r in refs]) for i, c, n, refs in EXPECTED]
    assert "2 of 5 highway ways refer to nodes missing from the extract" in caplog.text
    assert "1 of them have no two consecutive located nodes" in caplog.text


def test_no_highway_ways(tmp_path: Path) -> None:
    path = write_osm(tmp_path / "none.osm.pbf", NODES, [WAYS[5]])
    roads = read_osm_roads(path, WORLD)
    assert roads.empty and roads.columns.tolist()[:3] == ["osm_id", "road_class_source", "name"]


def test_matches_a_plain_loop_on_a_random_clipped_file(tmp_path: Path) -> None:
    """Random ways over a grid of nodes, a fifth of them missing: every line is a run of
    two or more consecutive located nodes of its way, in file order."""
    rng = np.random.default_rng(7)
    all_ids = np.arange(1, 401)
    nodes = {int(i): (8.0 + 0.0001 * (i % 20), 47.0 + 0.0001 * (i // 20)) for i in all_ids}
    kept = {i: xy for i, xy in nodes.items() if rng.random() > 0.2}
    ways = [
        (1000 + w, rng.choice(all_ids, size=int(rng.integers(2, 9))).tolist(), {"highway": "x"})
        for w in range(150)
    ]
    roads = read_osm_roads(write_osm(tmp_path / "r.osm.pbf", kept, ways), WORLD)
    expected = []
    for wid, refs, _ in ways:
        run: list[int] = []
        for ref in [*refs, None]:
            if ref in kept:
                run.append(ref)
                continue
            if len(run) >= 2:
                expected.append((wid, [kept[r] for r in run]))
            run = []
    got = list(zip(roads["osm_id"].tolist(), roads.geometry, strict=True))
    assert [w for w, _ in got] == [w for w, _ in expected]
    for (_, line), (_, xy) in zip(got, expected, strict=True):
        assert shapely.equals_exact(line, shapely.LineString(xy), tolerance=1e-7)


def test_negative_node_ids_of_an_unsaved_josm_file(tmp_path: Path) -> None:
    """pyosmium's location index holds positive ids only; negative ones are still found."""
    nodes = {-2: (-1.5, 52.2), -1: (-1.49, 52.21), 1: (-1.48, 52.22), 2: (-1.47, 52.23)}
    ways = [(-7, [-2, -1, 1, 2], {"highway": "service"}), (8, [-1, 99, 2], {"highway": "x"})]
    roads = read_osm_roads(write_osm(tmp_path / "josm.osm", nodes, ways), WORLD)
    assert roads["osm_id"].tolist() == [-7]
    assert list(roads.geometry[0].coords) == [nodes[i] for i in (-2, -1, 1, 2)]
