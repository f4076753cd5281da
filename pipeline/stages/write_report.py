"""Write the planners' review report and the links table for spreadsheets.

Inputs
    ``outputs/<region>/heat_links.gpkg`` (the deliverable, so the report shows exactly
    what analysts see), ``data/interim/<region>/roads.parquet`` for the base map, the
    region file and ``outputs/<region>/logs/`` for provenance.
Outputs
    ``outputs/<region>/report.html``: one self-contained file that needs no network (no
    tiles, no CDN) with an interactive pan-and-zoom map (Leaflet and the map's data
    embedded, :mod:`pipeline.report_web`), static maps and a chart for print (PNG data
    URIs): an overview map, a map per source fitted to its candidates, tables per
    source, per sink and of the cheapest links, the designed networks with a map of
    each of the largest, rejections by reason, and the assumptions and config used;
    ``outputs/<region>/links.csv``: every candidate link (viable and rejected) without
    geometry; ``outputs/<region>/networks.csv``: the ``networks`` layer without
    geometry (only the header when there is none).
Config keys
    all sections are listed in the report; none changes what it computes.

Method
    ``build_report`` puts the page together from one function per section, in this
    order: ``summary_section``, ``interactive_map_section`` (the Leaflet map of
    :mod:`pipeline.report_web`, hidden in print), ``overview_map_section``,
    ``sources_section`` (the sources table, then ``source_map_and_best_links`` for each
    source with a candidate: a map framed by ``source_extent`` for the
    ``MAX_SOURCE_MAPS`` sources sending most heat, the best links alone for the rest,
    named in the report), ``demand_zones_section``,
    ``cheapest_links_section``, ``networks_section`` (the networks table and savings,
    then ``network_map`` for the ``MAX_NETWORK_MAPS`` networks delivering most heat),
    ``rejections_by_reason_section``, ``assumptions_and_config_section`` and
    ``data_sources_section``; ``html_page`` wraps them with the title and style.
    The maps and the chart are drawn by :mod:`pipeline.report_maps` (imported as
    ``maps``), which imports matplotlib only when a map or chart is drawn.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline import __version__
from pipeline import report_maps as maps
from pipeline.config import RegionFile
from pipeline.engineering.profile import share_pct
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages import region_input_files
from pipeline.stages.export_geopackage import layer_fields

log = logging.getLogger("heatlink.write_report")

MAX_NETWORK_MAPS = 12
"""Networks drawn on a map of their own; the rest are in the networks table only."""
MAX_SOURCE_MAPS = 20
"""Sources drawn on a map of their own; the others' best links are listed without one."""
MAP_WIDTH_PX = 500
"""Width of the figures of the source and network maps in pixels: cropped to what is
drawn, their images are about 400 px wide, as wide as they are shown (380 px); more
pixels only cost time to draw and encode."""
SOURCE_MAP_INCHES, NETWORK_MAP_INCHES = (5.0, 5.0), (6.0, 6.0)

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "img{max-width:100%}table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}"
    ".t td,.t th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
    ".src{display:flex;gap:1em;align-items:flex-start}.src img{width:380px}"
    "pre{font-size:11px;background:#f6f6f6;padding:1em;overflow:auto}"
)

NOTES = (
    "<ul><li>Recovering waste heat does not reduce the data centre's own emissions; "
    "carbon figures count only the displaced boiler heat against the heat-pump and "
    "pumping electricity.</li><li>Annual figures are per year; lifetime figures are "
    "labelled as such.</li><li>Sites marked hypothetical in the inputs are not real "
    "facilities.</li></ul>"
)


def _table(df: pd.DataFrame, floatfmt: str = "{:,.1f}") -> str:
    """``df`` as an HTML table without its index: floats written with ``floatfmt``,
    missing values empty, text escaped. Written out here because ``DataFrame.to_html``
    takes about 2 ms a table, and the report has hundreds of small ones.

    Examples
    --------
    >>> _table(pd.DataFrame({"id": ["a<b", None], "mw": [1234.56, float("nan")], "n": [3, 4]}))
    '<table class="t"><thead><tr><th>id</th><th>mw</th><th>n</th></tr></thead><tbody>\
<tr><td>a&lt;b</td><td>1,234.6</td><td>3</td></tr><tr><td></td><td></td><td>4</td></tr>\
</tbody></table>'
    """
    if df.empty:
        return "<p><em>none</em></p>"
    return _rows_table(list(df.columns), df.to_numpy(dtype=object), floatfmt)


def _rows_table(columns: list, rows: np.ndarray, floatfmt: str = "{:,.1f}") -> str:
    """An HTML table of ``rows`` (an object array, a row per table row) under ``columns``."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, floatfmt)}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: object, floatfmt: str) -> str:
    """One table cell: a float with ``floatfmt``, a missing value empty, the rest as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else floatfmt.format(value)
    return html.escape(str(value))


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _lcoh_column(links: pd.DataFrame) -> str | None:
    """The levelised-cost column (its name carries the currency), if the links have one."""
    return next((c for c in links.columns if c.startswith("lcoh_transmission_")), None)


def _ranking_column(links: pd.DataFrame) -> str:
    """What "best" and "cheapest" sort on: the LCOH, or the heat loss without one."""
    return _lcoh_column(links) or "heat_loss_pct"


def _link_columns(links: pd.DataFrame) -> list[str]:
    """The columns the link tables show, those of them that the links have."""
    shown = (
        "link_id",
        "zone_id",
        "sink_id",
        "route_length_m",
        "dn",
        "design_network_heat_mw",
        "allocated_network_heat_mw",
        "allocated_source_heat_mw",  # the same heat on the source side of the heat pump
        "coverage_pct",
        "heat_loss_pct",
        _lcoh_column(links),
        *(c for c in links.columns if c.startswith("lcoh_delivered_")),
        *_band_columns(links),
    )
    return [c for c in shown if c and c in links.columns]


def _band_columns(table: pd.DataFrame) -> list[str]:
    """The uncertainty bands a table shows: the 10th and 90th percentiles of the LCOH and
    the CO2 saving, and ``prob_viable``, those of them that the table has.

    Examples
    --------
    >>> _band_columns(pd.DataFrame(columns=["lcoh_gbp_per_mwh_p10", "lcoh_gbp_per_mwh_p50",
    ...     "lcoh_gbp_per_mwh_p90", "prob_viable"]))
    ['lcoh_gbp_per_mwh_p10', 'lcoh_gbp_per_mwh_p90', 'prob_viable']
    """
    lcoh = [c for c in table.columns if re.fullmatch(r"lcoh_[a-z]+_per_mwh_p(10|90)", c)]
    shown = [*lcoh, "co2_saved_t_per_yr_p10", "co2_saved_t_per_yr_p90", "prob_viable"]
    return [c for c in shown if c in table.columns]


def _rejection_counts(rejected: pd.DataFrame) -> pd.Series:
    """Rejected candidates per reason code; a candidate failing several rules counts in each."""
    if not len(rejected):
        return pd.Series(dtype=int)
    return rejected["reason"].astype(str).str.split(";").explode().value_counts()


def summary_section(layers: dict[str, gpd.GeoDataFrame], cfg: RegionFile) -> str:
    """Counts of sources, zones, networks, viable, recommended and rejected links."""
    links, rejected = layers["links"], layers["rejected_links"]
    n_rec = int(links["recommended"].sum()) if "recommended" in links else 0
    summary = (
        f"<p>{len(layers['sources'])} heat sources, {len(layers['demand_zones'])} demand "
        f"zones, {len(layers.get('existing_networks', []))} existing networks; "
        f"{len(links)} viable links ({n_rec} recommended) and {len(rejected)} rejected "
        f"candidates within {cfg.routing.max_link_length_m:,.0f} m.</p>"
    )
    too_cold = (
        links["summer_too_cold"].fillna(False).astype(bool) if "summer_too_cold" in links else []
    )
    if any(too_cold):
        summary += (
            f"<p>{int(sum(too_cold))} viable links lose so much supply temperature at summer "
            f"flow that the sink gets less than it can use "
            f"({html.escape(', '.join(links.loc[too_cold, 'link_id']))}): see "
            "<code>supply_temp_drop_summer_k</code>.</p>"
        )
    if any(c.startswith("lcoh_delivered_") for c in links.columns):
        summary += (
            "<p>Two costs of heat are given. <code>lcoh_transmission</code> counts what it "
            "takes to bring the heat to the edge of the zone: the heat pump, the pipe, the "
            "stations, their upkeep and electricity. <code>lcoh_delivered</code> adds the "
            "zone's own distribution network to the buildings, estimated from the zone's heat "
            "density (Persson &amp; Werner 2011); it is empty for existing networks.</p>"
        )
    if n_rec and "allocated_delivered_heat_mwh" in links:
        summary += (
            f"<p>Over a typical year, hour by hour, the recommended links deliver "
            f"{links['allocated_delivered_heat_mwh'].sum():,.0f} MWh of heat and save "
            f"{links['allocated_co2_saved_t_per_yr'].sum():,.0f} t CO2e net a year "
            "(links that share a sink are counted together, cheapest first).</p>"
        )
    return _section("Summary", summary)


def interactive_map_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The pan-and-zoom map of :mod:`pipeline.report_web`, with Leaflet embedded."""
    from pipeline import report_web

    routes = layers["rejected_links"].geometry
    no_route = int((routes.isna() | routes.is_empty).sum())
    unmapped = (
        f" The {no_route} rejected candidates without a route (no road nearby, unreachable or "
        "beyond the longest link) are in the tables only."
        if no_route
        else ""
    )
    return _section(
        "Interactive map",
        "<p>Drag to pan, scroll to zoom, tick layers on and off at the top right and click "
        "a feature for its main fields. The map needs no network; it is left out when the "
        f"page is printed, and the static maps below are for print.{unmapped}</p>"
        + report_web.map_html(layers, roads, currency=cfg.cost.currency),
    )


def overview_map_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The whole region on one map, links coloured by viability, with a legend."""
    fig, ax = maps.subplots((9, 9))
    maps.draw(ax, roads, layers, layers["links"], layers["rejected_links"])
    maps.decorate(ax)
    maps.legend(ax)
    ax.set_title(f"{cfg.region.name}: links coloured by viability")
    return _section(
        "Overview map", f'<img alt="overview map" src="{maps.png(fig, dpi=maps.OVERVIEW_DPI)}">'
    )


def sources_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The sources table, then the best links of each source with a candidate, with a map
    for the :data:`MAX_SOURCE_MAPS` sources that send most heat (drawing hundreds of maps
    would take minutes)."""
    table = _sources_table(layers)
    table["why_no_candidate"] = why_no_candidate(
        table, layers["sources"], _sink_shapes(layers), reach_m=cfg.routing.max_link_length_m
    )
    ranked = table.assign(
        has_candidate=(table["viable_links"] + table["rejected"]) > 0
    ).sort_values(
        ["has_candidate", "allocated_source_heat_mw", "viable_links"],
        ascending=False,
        kind="stable",
    )
    mapped = set(ranked.loc[ranked["has_candidate"], "site_id"].head(MAX_SOURCE_MAPS))
    unmapped = [s for s in ranked.loc[ranked["has_candidate"], "site_id"] if s not in mapped]
    note = (
        f"<p>Maps follow for the {len(mapped)} sources that send most waste heat into the "
        f"recommended links; the other {len(unmapped)} sources with a candidate "
        f"({html.escape(', '.join(map(str, unmapped)))}) have their best links listed "
        "without a map.</p>"
        if unmapped
        else ""
    )
    candidates = candidates_by_site(layers["links"], layers["rejected_links"])
    canvas = maps.MapCanvas(SOURCE_MAP_INCHES) if mapped else None
    parts = [
        source_map_and_best_links(
            s,
            layers,
            roads,
            reach_m=cfg.routing.max_link_length_m,
            with_map=s.site_id in mapped,
            candidates=candidates[s.site_id],
            canvas=canvas,
        )
        for s in layers["sources"].itertuples()
        if s.site_id in candidates
    ]
    return _section("Sources", _table(table) + note) + "".join(parts)


def _sources_table(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per source: its waste heat, the part of it allocated, and its candidate counts."""
    links, rejected, sources = layers["links"], layers["rejected_links"], layers["sources"]
    ids = sources["site_id"]
    allocated = links.groupby("site_id")["allocated_source_heat_mw"].sum()
    return pd.DataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": sources["name"].to_numpy(),
            "kind": sources["kind"].to_numpy(),
            "heat_available_mw": sources["heat_available_mw"].to_numpy(),
            "allocated_source_heat_mw": ids.map(allocated).fillna(0.0).to_numpy(float),
            "viable_links": ids.map(links["site_id"].value_counts()).fillna(0).to_numpy(int),
            "rejected": ids.map(rejected["site_id"].value_counts()).fillna(0).to_numpy(int),
        }
    )


def _sink_shapes(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The demand zones and existing networks, with their ids as ``sink_id``."""
    parts = [
        layers[name].rename(columns={column: "sink_id"})[["sink_id", "geometry"]]
        for name, column in (("demand_zones", "zone_id"), ("existing_networks", "network_id"))
        if name in layers and len(layers[name])
    ]
    if not parts:
        return gpd.GeoDataFrame({"sink_id": []}, geometry=[], crs=layers["sources"].crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=layers["sources"].crs)


def why_no_candidate(
    table: pd.DataFrame, sources: gpd.GeoDataFrame, sinks: gpd.GeoDataFrame, *, reach_m: float
) -> np.ndarray:
    """For each source of ``table`` without a candidate link, why: no sink within the
    straight-line reach of routing, and the nearest sink with its distance; empty for
    the others.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> sources = gpd.GeoDataFrame({"site_id": ["S1", "S2"]},
    ...     geometry=[Point(0, 0), Point(9000, 0)], crs=27700)
    >>> sinks = gpd.GeoDataFrame({"sink_id": ["Z0007"]},
    ...     geometry=[box(4200, -50, 4300, 50)], crs=27700)
    >>> table = pd.DataFrame({"site_id": ["S1", "S2"], "viable_links": [0, 1],
    ...     "rejected": [0, 0]})
    >>> why_no_candidate(table, sources, sinks, reach_m=3000).tolist()
    ['no zone or network within 3,000 m; the nearest is Z0007 at 4.2 km', '']
    """
    none = (table["viable_links"] + table["rejected"]).to_numpy() == 0
    out = np.full(len(table), "", dtype=object)
    if not none.any():
        return out
    geoms = sources.set_index("site_id").geometry.reindex(table["site_id"][none]).to_numpy()
    if not len(sinks):
        out[none] = "no demand zone or existing network in the region"
        return out
    near, dist = shapely.STRtree(sinks.geometry.to_numpy()).query_nearest(
        geoms, return_distance=True, all_matches=False
    )
    ids = sinks["sink_id"].to_numpy()[near[1]]
    out[np.flatnonzero(none)[near[0]]] = [
        f"no zone or network within {reach_m:,.0f} m; the nearest is {i} at {d / 1000:.1f} km"
        for i, d in zip(ids, dist, strict=True)
    ]
    return out


def _by_site(links: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The links of each source."""
    return {site: group for site, group in links.groupby("site_id", sort=False)}


class SourceCandidates(NamedTuple):
    """One source's viable and rejected links, and the HTML table of its best links."""

    viable: gpd.GeoDataFrame
    rejected: gpd.GeoDataFrame
    best_table: str


def candidates_by_site(
    links: gpd.GeoDataFrame, rejected: gpd.GeoDataFrame, *, best: int = 5
) -> dict[str, SourceCandidates]:
    """The candidates of each source with one, split and ranked in one pass over the
    links: a filter and a sort per source cost seconds over hundreds of sources."""
    viable, refused = _by_site(links), _by_site(rejected)
    tables = {}
    if len(links):
        columns = _link_columns(links)
        ranked = links.sort_values(_ranking_column(links), kind="stable")
        top = ranked.groupby("site_id", sort=False).head(best)
        rows, sites = top[columns].to_numpy(dtype=object), top["site_id"].to_numpy(dtype=object)
        tables = {site: _rows_table(columns, rows[sites == site]) for site in dict.fromkeys(sites)}
    none = _table(links.iloc[:0])
    return {
        site: SourceCandidates(
            viable.get(site, links.iloc[:0]),
            refused.get(site, rejected.iloc[:0]),
            tables.get(site, none),
        )
        for site in (*viable, *refused)
    }


def source_map_and_best_links(
    source: tuple,
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    *,
    reach_m: float,
    with_map: bool = True,
    candidates: SourceCandidates | None = None,
    canvas: maps.MapCanvas | None = None,
) -> str:
    """A map of one source's candidates (unless ``with_map`` is False), framed by
    :func:`source_extent`, and its five best links;
    empty without a candidate. ``candidates``: the source's, from
    :func:`candidates_by_site` (found here if not given); ``canvas``: where to draw the
    map (a new one if not given)."""
    if candidates is None:
        links, rejected = layers["links"], layers["rejected_links"]
        candidates = candidates_by_site(
            links[links["site_id"] == source.site_id],
            rejected[rejected["site_id"] == source.site_id],
        ).get(source.site_id)
    if candidates is None:
        return ""
    mine, theirs, best = candidates
    site_id = html.escape(str(source.site_id))
    if not with_map:
        return f"<h3>{site_id}: {html.escape(str(source.name))}</h3>{best}"
    canvas = canvas or maps.MapCanvas(SOURCE_MAP_INCHES)
    ax = canvas.clear()
    maps.draw(ax, roads, layers, mine, theirs, extent=source_extent(source, mine, theirs, reach_m))
    maps.decorate(ax)
    ax.set_title(f"{source.site_id} {source.name}", fontsize=9)
    png = maps.png(canvas.fig, dpi=MAP_WIDTH_PX / SOURCE_MAP_INCHES[0])
    return (
        f"<h3>{site_id}: {html.escape(str(source.name))}</h3>"
        f'<div class="src"><img alt="map of {site_id}" '
        f'src="{png}"><div>{best}</div></div>'
    )


def source_extent(
    source: tuple, viable: gpd.GeoDataFrame, rejected: gpd.GeoDataFrame, reach_m: float
) -> tuple[float, float, float, float]:
    """The frame of a source's map: a square around the source and its candidates' routes
    (:func:`maps.network_extent`), so that the map is filled by what it shows; a square
    of side ``reach_m`` when no candidate has a route to draw.

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> site = pd.Series({"geometry": Point(0, 0)})
    >>> route = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])])
    >>> source_extent(site, route, route.iloc[:0], 5000.0)
    (-250.0, -750.0, 1250.0, 750.0)
    >>> source_extent(site, route.iloc[:0], route.iloc[:0], 5000.0)
    (-2500.0, -2500.0, 2500.0, 2500.0)
    """
    routes = pd.concat([viable.geometry, rejected.geometry]).dropna()
    x, y = source.geometry.x, source.geometry.y
    if not len(routes) or routes.is_empty.all():
        return (x - reach_m / 2, y - reach_m / 2, x + reach_m / 2, y + reach_m / 2)
    extent = maps.network_extent(gpd.GeoSeries([source.geometry]), gpd.GeoSeries(routes))
    return tuple(float(v) for v in extent)


def demand_zones_section(links: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> str:
    """Each zone's demand with the heat its links offer and the heat allocated to it."""
    offered = (
        links.groupby("zone_id")["design_network_heat_mw"].sum() if len(links) else pd.Series()
    )
    allocated = (
        links.groupby("zone_id")["allocated_network_heat_mw"].sum()
        if "allocated_network_heat_mw" in links and len(links)
        else pd.Series(dtype=float)
    )
    table = zones[["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"]].copy()
    table["heat_offered_mw"] = table["zone_id"].map(offered).fillna(0.0)
    table["allocated_network_heat_mw"] = table["zone_id"].map(allocated).fillna(0.0)
    if "allocated_delivered_heat_mwh" in links and len(links):
        delivered = links.groupby("zone_id")["allocated_delivered_heat_mwh"].sum()
        table["allocated_delivered_heat_mwh"] = table["zone_id"].map(delivered).fillna(0.0)
        table["coverage_pct"] = share_pct(
            table["allocated_delivered_heat_mwh"], table["annual_demand_mwh"]
        )
    return _section("Demand zones", _table(table))


def cheapest_links_section(links: gpd.GeoDataFrame) -> str:
    """The fifteen best viable links across all sources."""
    key = _ranking_column(links)
    top = (
        links.sort_values(key).head(15)[["site_id", *_link_columns(links)]] if len(links) else links
    )
    return _section(f"Top links by {key}", _table(top))


NETWORKS_TITLE = "Designed networks"
NETWORKS_INTRO = (
    "<p>A designed network serves the sinks that the recommended links reach from the "
    "same sources through one trunk that branches to each sink, instead of one pipe per "
    "link: where the links would run along the same roads, they share one trench and a "
    "larger pipe. Each network is set beside the point-to-point links (<code>p2p_</code>) "
    "it replaces. <code>lcoh_transmission</code> is the cost of heat brought to the edge "
    "of each zone; <code>lcoh_delivered</code> also counts the zone's own distribution "
    "network to the buildings (nothing for an existing network, whose distribution is "
    "built). <code>optimality_gap_pct</code> is empty for a heuristic design, which has no "
    "proven bound. The <code>_p10</code> and <code>_p90</code> columns bound the LCOH and "
    "the CO2 saving over the uncertain assumptions, and <code>prob_viable</code> is the "
    "share of draws in which every viability rule holds (docs/methodology.md, "
    "Uncertainty).</p>"
)


def _ids(joined: object) -> list[str]:
    """The ids of a ``;``-joined field (none when it is empty)."""
    return str(joined).split(";") if isinstance(joined, str) and joined else []


def _network_currency(networks: pd.DataFrame) -> str:
    """The currency the networks' costs are in, from ``capex_<cur>`` (``eur`` without it)."""
    found = (re.fullmatch(r"capex_([a-z]+)", c) for c in networks.columns)
    return next((m.group(1) for m in found if m), "eur")


def _network_columns(networks: pd.DataFrame, cur: str) -> list[str]:
    """The columns the networks table shows, those of them that the layer has."""
    shown = (
        "network_id",
        "site_ids",
        "sink_ids",
        "trench_length_m",
        "p2p_trench_length_m",
        "trench_saving_pct",
        f"capex_{cur}",
        f"p2p_capex_{cur}",
        "capex_saving_pct",
        f"lcoh_transmission_{cur}_per_mwh",
        f"lcoh_delivered_{cur}_per_mwh",
        "delivered_heat_mwh",
        "co2_saved_t_per_yr",
        *_band_columns(networks),
        "method",
        "optimality_gap_pct",
    )
    return [c for c in shown if c in networks.columns]


def network_savings(networks: pd.DataFrame, cur: str) -> dict[str, float]:
    """Trench and capital cost that all networks save against the links they replace.

    Examples
    --------
    >>> t = pd.DataFrame({"trench_length_m": [600.0, 300.0], "p2p_trench_length_m":
    ...     [1000.0, 500.0], "capex_eur": [3.0e6, 1.0e6], "p2p_capex_eur": [4.0e6, 1.0e6],
    ...     "n_links": [3, 2]})
    >>> network_savings(t, "eur")
    {'trench_saved_m': 600.0, 'trench_saving_pct': 40.0, 'capex_saved': 1000000.0, \
'capex_saving_pct': 20.0, 'n_links': 5}
    """
    trench, p2p_trench = networks["trench_length_m"].sum(), networks["p2p_trench_length_m"].sum()
    capex, p2p_capex = networks[f"capex_{cur}"].sum(), networks[f"p2p_capex_{cur}"].sum()
    return {
        "trench_saved_m": float(p2p_trench - trench),
        "trench_saving_pct": float(share_pct(p2p_trench - trench, p2p_trench)),
        "capex_saved": float(p2p_capex - capex),
        "capex_saving_pct": float(share_pct(p2p_capex - capex, p2p_capex)),
        "n_links": int(networks["n_links"].sum()),
    }


def _savings_sentence(networks: pd.DataFrame, cur: str) -> str:
    """The savings of :func:`network_savings` in one sentence (plain text)."""
    s = network_savings(networks, cur)
    links = "link" if s["n_links"] == 1 else "links"
    return (
        f"Against the {s['n_links']} point-to-point {links} they replace, each laid alone, "
        f"the networks save {s['trench_saved_m']:,.0f} m of trench "
        f"({s['trench_saving_pct']:.1f} %) and {s['capex_saved']:,.0f} {cur.upper()} of "
        f"capital cost ({s['capex_saving_pct']:.1f} %): shared trenches and pipes, and one "
        "heat pump and station per source in place of one per link."
    )


def networks_section(layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame) -> str:
    """The networks table and their savings, then a map of each of the largest networks."""
    networks = layers.get("networks")
    if networks is None or "network_pipes" not in layers:
        return _section(
            NETWORKS_TITLE,
            "<p>This GeoPackage has no <code>networks</code> layer: it was written before "
            "heatlink designed networks. Run the pipeline again to design them.</p>",
        )
    if networks.empty:
        return _section(NETWORKS_TITLE, "<p>No network was designed: no link is recommended.</p>")
    cur = _network_currency(networks)
    largest = networks.sort_values("delivered_heat_mwh", ascending=False, kind="stable")
    drawn, rest = largest.iloc[:MAX_NETWORK_MAPS], largest.iloc[MAX_NETWORK_MAPS:]
    body = (
        NETWORKS_INTRO
        + _table(networks[_network_columns(networks, cur)])
        + f"<p>{html.escape(_savings_sentence(networks, cur))}</p>"
    )
    if len(rest):
        body += (
            f"<p>Maps follow for the {len(drawn)} networks that deliver most heat; the other "
            f"{len(rest)} ({html.escape(', '.join(rest['network_id'].astype(str)))}) are in "
            "the table only.</p>"
        )
    canvas = maps.MapCanvas(NETWORK_MAP_INCHES)
    drawn_maps = [network_map(n, layers, roads, cur=cur, canvas=canvas) for n in drawn.itertuples()]
    return _section(NETWORKS_TITLE, body) + "".join(drawn_maps)


def _network_parts(
    network: tuple, layers: dict[str, gpd.GeoDataFrame]
) -> dict[str, gpd.GeoDataFrame]:
    """The layers' rows of one network: its pipes, sources, sinks and the links it replaces."""
    site_ids, sink_ids = _ids(network.site_ids), _ids(network.sink_ids)
    pipes, links = layers["network_pipes"], layers["links"]
    rec = links["recommended"].astype(bool) if "recommended" in links else links.index < 0
    parts = {
        "network_pipes": pipes[pipes["network_id"] == network.network_id],
        "sources": layers["sources"][layers["sources"]["site_id"].isin(site_ids)],
        "demand_zones": layers["demand_zones"][layers["demand_zones"]["zone_id"].isin(sink_ids)],
        "links": links[rec & links["site_id"].isin(site_ids) & links["sink_id"].isin(sink_ids)],
    }
    if "existing_networks" in layers:
        nets = layers["existing_networks"]
        parts["existing_networks"] = nets[nets["network_id"].isin(sink_ids)]
    return parts


def network_map(
    network: tuple,
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    *,
    cur: str,
    canvas: maps.MapCanvas | None = None,
) -> str:
    """A map of one network over the links it replaces, with its pipe lengths by DN;
    ``canvas``: where to draw it (a new one if not given)."""
    parts = _network_parts(network, layers)
    pipes, replaced = parts["network_pipes"], parts["links"]
    extent = maps.network_extent(
        gpd.GeoSeries([network.geometry]), pipes.geometry, parts["sources"].geometry
    )
    if extent is None:
        return ""
    canvas = canvas or maps.MapCanvas(NETWORK_MAP_INCHES)
    ax = canvas.clear()
    maps.draw(ax, roads, parts, replaced.iloc[:0], replaced.iloc[:0], extent=extent)
    faded = {"color": maps.RECOMMENDED, "lw": 3, "alpha": 0.3}
    if len(replaced):
        maps.plot(ax, replaced.geometry.to_numpy(), zorder=4, **faded)
    key = [("point-to-point link replaced", faded), *maps.draw_pipes(ax, pipes)]
    for name, column in (("sources", "site_id"), ("demand_zones", "zone_id")):
        maps.label_features(ax, parts[name], column, extent)
    if "existing_networks" in parts:
        maps.label_features(ax, parts["existing_networks"], "network_id", extent)
    maps.decorate(ax)
    maps.legend(ax, key)
    ax.set_title(f"{network.network_id}: {network.site_ids} to {network.sink_ids}", fontsize=9)
    by_dn = pipes.groupby("dn", as_index=False).agg(
        trench_length_m=("length_m", "sum"),
        **({f"capex_{cur}": (f"capex_{cur}", "sum")} if f"capex_{cur}" in pipes else {}),
    )
    network_id = html.escape(str(network.network_id))
    png = maps.png(canvas.fig, dpi=MAP_WIDTH_PX / NETWORK_MAP_INCHES[0])
    return (
        f"<h3>{network_id}: {html.escape(str(network.site_ids))} to "
        f"{html.escape(str(network.sink_ids))}</h3>"
        f'<div class="src"><img alt="network {network_id}" src="{png}">'
        f"<div>{_table(by_dn)}</div></div>"
    )


def rejections_by_reason_section(rejected: gpd.GeoDataFrame) -> str:
    """A bar chart and a table of rejected candidates per reason code."""
    reasons = _rejection_counts(rejected)
    if not len(reasons):
        return _section("Rejections by reason", "<p>No candidate was rejected.</p>")
    fig, ax = maps.subplots((6, 0.4 * len(reasons) + 1))
    ordered = reasons.sort_values()
    ax.barh(ordered.index.astype(str), ordered.to_numpy(), height=0.5, color=maps.REJECTED)
    ax.set_ylabel("reason")
    ax.set_xlabel("rejected candidates (a candidate can fail several rules)")
    fig.tight_layout()  # room for the reason codes left of the bars
    chart = f'<img alt="rejections by reason" src="{maps.png(fig)}">'
    return _section(
        "Rejections by reason",
        chart + _table(reasons.rename_axis("reason").reset_index(name="count")),
    )


def assumptions_and_config_section(cfg: RegionFile) -> str:
    """What the figures assume, and the whole region file as resolved."""
    config = html.escape(json.dumps(cfg.model_dump(mode="json"), indent=1, default=str))
    return _section(
        "Assumptions and config",
        NOTES + f"<details open><summary>Region file, resolved</summary><pre>{config}</pre>"
        "</details><p>Formulas and sources: docs/methodology.md. Fields and units: "
        "docs/outputs.md.</p>",
    )


def data_sources_section(cfg: RegionFile) -> str:
    """Every input file, under the config key that names it."""
    items = "".join(
        f"<li><code>{html.escape(key)}</code>: {html.escape(str(path))}</li>"
        for key, path in region_input_files(cfg).items()
    )
    return _section("Data sources", f"<ul>{items}</ul>")


def html_page(cfg: RegionFile, *, generated: str, sections: list[str]) -> str:
    """One HTML page: title, style, the version, time and CRS line, then the sections."""
    name = html.escape(cfg.region.name)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>heatlink report: {name}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Waste-heat links: {name}</h1>"
        f"<p>heatlink {__version__}, {html.escape(generated)}. CRS {html.escape(str(cfg.crs))}."
        "</p>" + "".join(sections) + "</body></html>"
    )


def build_report(
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    cfg: RegionFile,
    *,
    generated: str,
) -> str:
    """The report as one HTML string with its images embedded."""
    sections = [
        summary_section(layers, cfg),
        interactive_map_section(layers, roads, cfg),
        overview_map_section(layers, roads, cfg),
        sources_section(layers, roads, cfg),
        demand_zones_section(layers["links"], layers["demand_zones"]),
        cheapest_links_section(layers["links"]),
        networks_section(layers, roads),
        rejections_by_reason_section(layers["rejected_links"]),
        assumptions_and_config_section(cfg),
        data_sources_section(cfg),
    ]
    return html_page(cfg, generated=generated, sections=sections)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the GeoPackage and write report.html and links.csv."""
    import pyogrio

    layers = {
        name: gpd.read_file(paths.geopackage, layer=name)
        for name, _ in pyogrio.list_layers(paths.geopackage)
        if name not in ("layer_styles", "run_info")
    }
    roads = read_geoparquet(paths.roads)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = build_report(layers, roads, cfg, generated=generated)
    with atomic_path(paths.report) as tmp:
        tmp.write_text(page, encoding="utf-8")
    links, networks = links_table(layers), networks_table(layers, cfg.cost.currency)
    for table, csv in ((links, paths.links_csv), (networks, paths.networks_csv)):
        with atomic_path(csv) as tmp:
            table.to_csv(tmp, index=False)
    log.info(
        "wrote %s (%.0f kB), %s (%d rows) and %s (%d rows)",
        *(paths.report, len(page) / 1000, paths.links_csv, len(links)),
        *(paths.networks_csv, len(networks)),
    )
    written = [paths.geopackage, paths.report, paths.links_csv, paths.networks_csv]
    print(summary_text(layers, written))


def links_table(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Every candidate link, viable and rejected, without geometry."""
    return pd.concat(
        [
            layers["links"].drop(columns="geometry").assign(viable=True),
            layers["rejected_links"].drop(columns="geometry").assign(viable=False),
        ],
        ignore_index=True,
    )


def networks_table(layers: dict[str, gpd.GeoDataFrame], currency: str) -> pd.DataFrame:
    """The ``networks`` layer without geometry; only the contract's header (``fields.csv``)
    when the GeoPackage has no network.

    Examples
    --------
    >>> list(networks_table({}, "GBP").columns[5:8])
    ['trench_length_m', 'heat_pump_mw', 'capex_gbp']
    """
    networks = layers.get("networks")
    if networks is None or networks.empty:
        return pd.DataFrame(columns=layer_fields(currency)["networks"][1])
    return pd.DataFrame(networks.drop(columns=networks.geometry.name))


def summary_text(layers: dict[str, gpd.GeoDataFrame], written: list) -> str:
    """The short summary printed at the end of a run: counts, best links, paths."""
    links = layers["links"]
    lcoh = _ranking_column(links)
    reasons = _rejection_counts(layers["rejected_links"])
    lines = [
        f"{len(layers['sources'])} sources, {len(layers['demand_zones'])} zones, "
        f"{len(layers.get('existing_networks', []))} existing networks: {len(links)} viable "
        f"links ({int(links['recommended'].sum())} recommended), "
        f"{len(layers['rejected_links'])} rejected"
        + (" (" + ", ".join(f"{k} {v}" for k, v in reasons.items()) + ")" if len(reasons) else ""),
    ]
    for r in links.sort_values(lcoh).head(3).itertuples():
        lines.append(
            f"  {r.link_id} {r.site_id} -> {r.sink_id}: {r.route_length_m:,.0f} m, DN{r.dn}, "
            f"{r.design_network_heat_mw:.1f} MW, {lcoh} {getattr(r, lcoh):,.1f}"
        )
    networks = layers.get("networks")
    if networks is not None and len(networks):
        cur = _network_currency(networks)
        lines.append(f"{len(networks)} designed networks: {_savings_sentence(networks, cur)}")
    lines += [f"wrote {p}" for p in written]
    return "\n".join(lines)
