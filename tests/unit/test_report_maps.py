"""The report's maps and tables, made fast for large regions (issue 12): the overview's
roads as one raster, source maps cut to their reach, one canvas reused map after map,
tables written without ``DataFrame.to_html``, candidates split by source in one pass."""

from __future__ import annotations

import base64
import html
import io
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image
from shapely.geometry import LineString, MultiLineString
from test_report_networks import _config, _layers

from conftest import X0, Y0, grid_roads
from pipeline import report_maps
from pipeline.report_maps import MapCanvas, road_raster
from pipeline.stages import write_report
from pipeline.stages.write_report import (
    _table,
    candidates_by_site,
    overview_map_section,
    source_map_and_best_links,
)


def _pixels(data_uri: str) -> np.ndarray:
    """The RGB pixels of a PNG data URI."""
    png = base64.b64decode(data_uri.split("base64,", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _first_image(section: str) -> np.ndarray:
    return _pixels(re.search(r'src="(data:image/png;base64,[^"]+)"', section).group(1))


def _greyish(pixels: np.ndarray) -> np.ndarray:
    """Pixels of the roads' grey, or of it faded over white: neutral, not white or black."""
    neutral = (pixels.max(axis=2) - pixels.min(axis=2)) <= 3
    return neutral & (pixels[..., 0] >= 150) & (pixels[..., 0] <= 245)


# --- road_raster -------------------------------------------------------------------------


def test_road_raster_holds_the_length_of_road_in_each_cell() -> None:
    """A diagonal across a 4 x 4 grid of 10 m cells, and a line half outside it."""
    diagonal = LineString([(0, 0), (40, 40)])
    outside = LineString([(20, 5), (60, 5)])  # 20 m inside, along the bottom row
    grid = road_raster(np.array([diagonal, outside]), (0.0, 0.0, 40.0, 40.0), (4, 4))
    assert grid.sum() == pytest.approx((diagonal.length + 20) / 10)
    np.testing.assert_allclose(np.diag(grid[::-1]), np.sqrt(2))  # row 0 is the top
    np.testing.assert_allclose(grid[3, 2:], [1.0, 1.0])
    assert grid[0, 0] == 0 and grid[3, 1] == 0


def test_road_raster_does_not_join_the_parts_of_a_multilinestring() -> None:
    parts = MultiLineString([[(5, 5), (5, 35)], [(35, 35), (35, 5)]])
    grid = road_raster(np.array([parts]), (0.0, 0.0, 40.0, 40.0), (4, 4))
    assert grid.sum() == pytest.approx(6.0)
    assert grid[:, 1:3].sum() == 0  # nothing drawn between the two parts


def test_road_raster_is_the_same_in_chunks() -> None:
    lines = grid_roads(n=12, spacing=37.0).geometry.to_numpy()
    extent = (X0 - 10, Y0 - 10, X0 + 420, Y0 + 410)  # cells of 10 m
    whole = road_raster(lines, extent, (42, 43))
    assert whole.sum() == pytest.approx(shapely.length(lines).sum() / 10, rel=1e-9)
    np.testing.assert_allclose(road_raster(lines, extent, (42, 43), chunk=7), whole)


# --- the overview map ----------------------------------------------------------------


def _runs(mask: np.ndarray) -> int:
    """The number of runs of True in a row of pixels."""
    return int(np.count_nonzero(np.diff(mask.astype(int)) == 1) + mask[0])


def test_overview_map_shows_the_roads(tmp_path) -> None:
    """The roads, one image under the other layers, show as separate grey lines: a row of
    pixels across the middle of a map of a street grid crosses each of its 30 north-south
    streets, and that of a map without roads crosses next to none."""
    layers = {name: gdf.iloc[:0] for name, gdf in _layers().items()}
    streets = grid_roads(n=30, spacing=15.0)
    for roads, expected in ((streets, range(28, 33)), (streets.iloc[:0], range(0, 4))):
        pixels = _first_image(overview_map_section(layers, roads, _config(tmp_path)))
        middle = pixels[pixels.shape[0] // 2 + 3]  # between two east-west streets
        assert _runs(_greyish(middle[None])[0]) in expected


def test_overview_map_draws_roads_as_one_image(tmp_path, monkeypatch) -> None:
    """However many roads, the overview does not draw a line per road."""
    drawn = []
    original = report_maps.draw_lines

    def lines(ax, geoms, **style) -> None:
        drawn.append(len(geoms))
        original(ax, geoms, **style)

    monkeypatch.setattr(report_maps, "draw_lines", lines)
    roads = grid_roads(n=40, spacing=15.0)
    overview_map_section(_layers(), roads, _config(tmp_path))
    assert sum(drawn) < len(roads)  # only the links are lines


# --- source and network maps ---------------------------------------------------------


def test_source_map_draws_only_the_roads_within_its_reach() -> None:
    """Roads that run on far past the map are cut at its edge before they are drawn."""
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(X0 - 50_000, Y0 + 10), (X0 + 50_000, Y0 + 10)])], crs=27700
    )
    layers = _layers()
    canvas = MapCanvas((5, 5))
    extent = (X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)
    report_maps.draw(
        canvas.ax, roads, layers, layers["links"], layers["rejected_links"], extent=extent
    )
    road_lines = canvas.ax.collections[0]
    xy = np.concatenate(road_lines.get_segments())
    assert xy[:, 0].min() >= extent[0] - 1e-6 and xy[:, 0].max() <= extent[2] + 1e-6
    assert len(xy) == 2


def test_a_reused_canvas_draws_the_same_map_as_a_new_one(tmp_path) -> None:
    """Nothing of one map is left on the canvas for the next."""
    layers, roads = _layers(), grid_roads()
    candidates = candidates_by_site(layers["links"], layers["rejected_links"])
    s1, s2, _ = layers["sources"].itertuples()

    def page(source, canvas) -> str:
        return source_map_and_best_links(
            source,
            layers,
            roads,
            reach_m=300.0,
            candidates=candidates[source.site_id],
            canvas=canvas,
        )

    reused = MapCanvas(write_report.SOURCE_MAP_INCHES)
    page(s1, reused)
    np.testing.assert_array_equal(_first_image(page(s2, reused)), _first_image(page(s2, None)))


def test_png_is_cropped_to_what_is_drawn() -> None:
    canvas = MapCanvas((6, 4))
    canvas.ax.set_axis_off()
    canvas.ax.plot([0, 1], [0, 1], color="black")
    canvas.ax.set_xlim(0, 1)
    canvas.ax.set_ylim(0, 1)
    pixels = _pixels(report_maps.png(canvas.fig, dpi=50))
    height, width, _ = pixels.shape
    assert width < 6 * 50 and height < 4 * 50  # the margins around the axes are gone
    assert pixels[0].min() == 255 and pixels[-1].min() == 255  # a white edge is left
    dark = np.argwhere(pixels.sum(axis=2) < 300)  # the line, corner to corner
    assert dark[:, 0].min() <= 6 and dark[:, 0].max() >= height - 7


# --- tables and the sources section -------------------------------------------------------


def _cells(page: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", page)]


def test_table_has_the_cells_of_to_html() -> None:
    """The same cells as ``DataFrame.to_html`` with the report's formats, in order."""
    df = pd.DataFrame(
        {
            "id": pd.array(["L1", None, "a<b&c"], dtype="str"),
            "mw": [1234.5678, np.nan, -0.04],
            "dn": [100, 65, 20],
            "ok": [True, False, True],
            "mixed": pd.Series(["x", 2.25, 3], dtype=object),
        }
    )
    for fmt in ("{:,.1f}", "{:.3g}"):
        expected = df.to_html(
            index=False, border=0, na_rep="", float_format=fmt.format, escape=True
        )
        assert _cells(_table(df, fmt)) == [c.strip() for c in _cells(expected)]
    assert _table(df.iloc[:0]) == "<p><em>none</em></p>"
    # to_html writes "None" in a column of objects; the report leaves every gap empty
    gaps = pd.DataFrame({"zone_id": pd.Series(["Z1", None], dtype=object)})
    assert _cells(_table(gaps)) == ["zone_id", "Z1", ""]


def test_candidates_by_site_match_a_filter_and_sort_per_source() -> None:
    rng = np.random.default_rng(3)
    n = 60
    links = gpd.GeoDataFrame(
        {
            "link_id": [f"L{i:02d}" for i in range(n)],
            "site_id": rng.choice(["S1", "S2", "S3", "S4"], n),
            "sink_id": [f"Z{i % 7}" for i in range(n)],
            "zone_id": [f"Z{i % 7}" for i in range(n)],
            "route_length_m": rng.uniform(100, 2000, n),
            "heat_loss_pct": rng.uniform(1, 9, n),
            "lcoh_transmission_eur_per_mwh": rng.choice([30.0, 40.0, 50.0, np.nan], n),
        },
        geometry=[LineString([(i, 0), (i, 1)]) for i in range(n)],
        crs=27700,
    )
    rejected = links.iloc[:3].assign(site_id="S9", reason="too_long")
    found = candidates_by_site(links, rejected)
    assert set(found) == {*links["site_id"], "S9"}
    columns = write_report._link_columns(links)
    for site, (viable, refused, table) in found.items():
        mine = links[links["site_id"] == site]
        assert viable["link_id"].tolist() == mine["link_id"].tolist()
        assert (
            refused["link_id"].tolist()
            == rejected.loc[rejected["site_id"] == site, "link_id"].tolist()
        )
        best = mine.sort_values("lcoh_transmission_eur_per_mwh", kind="stable").head(5)
        assert table == _table(best[columns])
    assert found["S9"].best_table == "<p><em>none</em></p>"


def test_sources_without_a_map_are_named_and_keep_their_best_links(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(write_report, "MAX_SOURCE_MAPS", 2)
    page = write_report.sources_section(_layers(), grid_roads(), _config(tmp_path))
    assert re.findall(r'<img alt="map of (S\d)"', page) == ["S1", "S2"]
    assert (
        "Maps follow for the 2 sources that send most waste heat into the recommended links; "
        "the other 1 sources with a candidate (S3) have their best links listed without a map"
        in page
    )
    s3 = page.split("<h3>S3: DC S3</h3>", 1)[1]
    assert "<img" not in s3
    assert [c for c in _cells(s3) if c.startswith("L")] == ["L5", "L6"]


def test_source_map_is_fitted_to_the_sources_candidates() -> None:
    """A source's map is framed by its links, not by the search reach: with a reach of
    5 km and links of a few hundred metres, the links still fill the map."""
    layers, roads = _layers(), grid_roads()
    s1 = next(layers["sources"].itertuples())
    page = source_map_and_best_links(s1, layers, roads, reach_m=5000.0)
    pixels = _first_image(page)
    blue = np.argwhere(np.abs(pixels - (8, 81, 156)).sum(axis=2) < 40)  # recommended links
    assert len(blue)
    spans = blue.max(axis=0) - blue.min(axis=0)
    assert spans.max() > 0.4 * max(pixels.shape[:2])
    extent = write_report.source_extent(
        s1, layers["links"].iloc[:0], layers["links"].iloc[:0], 5000.0
    )
    assert extent == (
        s1.geometry.x - 2500,
        s1.geometry.y - 2500,
        s1.geometry.x + 2500,
        s1.geometry.y + 2500,
    )


def test_a_source_without_candidates_says_why(tmp_path):
    """A source with no zone or network in straight-line reach says so, with the nearest
    sink and its distance, instead of a row of zeros."""
    from shapely.geometry import Point

    layers = _layers()
    far = layers["sources"].iloc[:1].assign(site_id="S9", geometry=[Point(X0 + 9000, Y0)])
    layers["sources"] = gpd.GeoDataFrame(
        pd.concat([layers["sources"], far], ignore_index=True), crs=layers["sources"].crs
    )
    page = write_report.sources_section(layers, grid_roads(), _config(tmp_path))
    row = re.search(r"<tr>\s*<td>S9</td>.*?</tr>", page, flags=re.S).group(0)
    assert "no zone or network within 2,000 m; the nearest is Z2 at 8.6 km" in row
    s1 = re.search(r"<tr>\s*<td>S1</td>.*?</tr>", page, flags=re.S).group(0)
    assert "nearest" not in s1
