"""Write the planners' review report and the links table for spreadsheets.

Inputs
    ``outputs/<region>/heat_links.gpkg`` (the deliverable, so the report shows exactly
    what analysts see), ``data/interim/<region>/roads.parquet`` for the base map, the
    region file and ``outputs/<region>/logs/`` for provenance.
Outputs
    ``outputs/<region>/report.html``: one self-contained file (maps and chart embedded as
    PNG data URIs, no tile downloads) with an overview map, a map per source, tables per
    source, per sink and of the cheapest links, rejections by reason, and the
    assumptions and config used; ``outputs/<region>/links.csv``: every candidate link
    (viable and rejected) without geometry.
Config keys
    all sections are listed in the report; none changes what it computes.

Method
    ``build_report`` puts the page together from one function per section, in this
    order: ``summary_section``, ``overview_map_section``, ``sources_section`` (the
    sources table, then ``source_map_and_best_links`` for each source with a
    candidate), ``demand_zones_section``, ``cheapest_links_section``,
    ``rejections_by_reason_section``, ``assumptions_and_config_section`` and
    ``data_sources_section``; ``html_page`` wraps them with the title and style.
    matplotlib is imported only when a map or chart is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from pipeline import __version__
from pipeline.config import RegionFile
from pipeline.engineering.profile import share_pct
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages import region_input_files

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger("heatlink.write_report")

VIABLE, RECOMMENDED, REJECTED = "#1a9850", "#08519c", "#d73027"

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


def _subplots(figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new figure and axes on the Agg backend (matplotlib is imported here, not above)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)


def _png(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


def _decorate(ax: Axes) -> None:
    """North arrow and scale bar (the map is in a projected CRS in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="black", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), label, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")


def _lines(ax: Axes, gdf: gpd.GeoDataFrame, **style: object) -> None:
    """Draw many lines at once (a LineCollection is far faster than GeoDataFrame.plot)."""
    from matplotlib.collections import LineCollection

    xy, idx = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    ax.add_collection(LineCollection(np.split(xy, cuts), **style))


def _draw(
    ax: Axes,
    roads: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    links: gpd.GeoDataFrame,
    rejected: gpd.GeoDataFrame,
    *,
    extent: tuple[float, float, float, float] | None = None,
) -> None:
    """Roads, zones, networks, links and sources; only what meets ``extent`` if given."""
    if extent is not None:
        roads = roads.iloc[roads.sindex.query(shapely.box(*extent))]
    if len(roads):
        _lines(ax, roads, colors="#bdbdbd", linewidths=0.4, zorder=1)
    rec = links["recommended"].astype(bool) if "recommended" in links else links.index < 0
    drawn = [
        (layers["demand_zones"], {"color": "#fdae61", "alpha": 0.5}),
        (layers.get("existing_networks", roads.iloc[:0]), {"color": "#762a83", "lw": 2}),
        (
            rejected[rejected.geometry.notna() & ~rejected.geometry.is_empty],
            {"color": REJECTED, "lw": 1, "ls": "--"},
        ),
        (links[~rec], {"color": VIABLE, "lw": 2}),
        (links[rec], {"color": RECOMMENDED, "lw": 3}),
        (layers["sources"], {"color": "black", "marker": "s", "markersize": 36}),
    ]
    for z, (gdf, style) in enumerate(drawn, start=2):
        if extent is not None and len(gdf):
            gdf = gdf.iloc[gdf.sindex.query(shapely.box(*extent))]
        if len(gdf):
            gdf.plot(ax=ax, zorder=z, **style)
    if extent is None and len(roads):
        extent = tuple(roads.total_bounds)
    if extent is not None:
        ax.set_xlim(extent[0], extent[2])
        ax.set_ylim(extent[1], extent[3])


def _legend(ax: Axes) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color="#bdbdbd", lw=1, label="road"),
        Patch(color="#fdae61", alpha=0.5, label="demand zone"),
        Line2D([], [], color="#762a83", lw=2, label="existing network"),
        Line2D([], [], color=RECOMMENDED, lw=3, label="recommended link"),
        Line2D([], [], color=VIABLE, lw=2, label="viable link"),
        Line2D([], [], color=REJECTED, lw=1, ls="--", label="rejected link"),
        Line2D([], [], color="black", marker="s", lw=0, label="heat source"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.9)


def _table(df: pd.DataFrame, floatfmt: str = "{:,.1f}") -> str:
    if df.empty:
        return "<p><em>none</em></p>"
    return df.to_html(
        index=False, border=0, classes="t", na_rep="", float_format=floatfmt.format, escape=True
    )


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
        "design_heat_mw",
        "allocated_heat_mw",
        "coverage_pct",
        "heat_loss_pct",
        _lcoh_column(links),
        *(c for c in links.columns if c.startswith("lcoh_delivered_")),
    )
    return [c for c in shown if c and c in links.columns]


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


def overview_map_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The whole region on one map, links coloured by viability, with a legend."""
    fig, ax = _subplots((9, 9))
    _draw(ax, roads, layers, layers["links"], layers["rejected_links"])
    _decorate(ax)
    _legend(ax)
    ax.set_title(f"{cfg.region.name}: links coloured by viability")
    return _section("Overview map", f'<img alt="overview map" src="{_png(fig)}">')


def sources_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The sources table, then a map and the best links of each source with a candidate."""
    maps = [
        source_map_and_best_links(s, layers, roads, reach_m=cfg.routing.max_link_length_m)
        for s in layers["sources"].itertuples()
    ]
    return _section("Sources", _table(_sources_table(layers))) + "".join(maps)


def _sources_table(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per source: its waste heat, the part of it allocated, and its candidate counts."""
    links, rejected = layers["links"], layers["rejected_links"]
    rows = []
    for s in layers["sources"].itertuples():
        mine = links[links["site_id"] == s.site_id]
        rows.append(
            {
                "site_id": s.site_id,
                "name": s.name,
                "kind": s.kind,
                "heat_available_mw": s.heat_available_mw,
                "allocated_source_heat_mw": mine["allocated_source_heat_mw"].sum(),
                "viable_links": len(mine),
                "rejected": int((rejected["site_id"] == s.site_id).sum()),
            }
        )
    return pd.DataFrame(rows)


def source_map_and_best_links(
    source: tuple,
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    *,
    reach_m: float,
) -> str:
    """A map of one source's reach and its five best links; empty without a candidate."""
    links, rejected = layers["links"], layers["rejected_links"]
    mine = links[links["site_id"] == source.site_id]
    theirs = rejected[rejected["site_id"] == source.site_id]
    if mine.empty and theirs.empty:
        return ""
    fig, ax = _subplots((5, 5))
    x, y = source.geometry.x, source.geometry.y
    _draw(
        ax, roads, layers, mine, theirs, extent=(x - reach_m, y - reach_m, x + reach_m, y + reach_m)
    )
    _decorate(ax)
    ax.set_title(f"{source.site_id} {source.name}", fontsize=9)
    best = mine.sort_values(_ranking_column(links)).head(5)[_link_columns(links)]
    site_id = html.escape(str(source.site_id))
    return (
        f"<h3>{site_id}: {html.escape(str(source.name))}</h3>"
        f'<div class="src"><img alt="map of {site_id}" '
        f'src="{_png(fig)}"><div>{_table(best)}</div></div>'
    )


def demand_zones_section(links: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> str:
    """Each zone's demand with the heat its links offer and the heat allocated to it."""
    offered = links.groupby("zone_id")["design_heat_mw"].sum() if len(links) else pd.Series()
    allocated = (
        links.groupby("zone_id")["allocated_heat_mw"].sum()
        if "allocated_heat_mw" in links and len(links)
        else pd.Series(dtype=float)
    )
    table = zones[["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"]].copy()
    table["heat_offered_mw"] = table["zone_id"].map(offered).fillna(0.0)
    table["allocated_heat_mw"] = table["zone_id"].map(allocated).fillna(0.0)
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


def rejections_by_reason_section(rejected: gpd.GeoDataFrame) -> str:
    """A bar chart and a table of rejected candidates per reason code."""
    reasons = _rejection_counts(rejected)
    if not len(reasons):
        return _section("Rejections by reason", "<p>No candidate was rejected.</p>")
    fig, ax = _subplots((6, 0.4 * len(reasons) + 1))
    reasons.sort_values().plot.barh(ax=ax, color=REJECTED)
    ax.set_xlabel("rejected candidates (a candidate can fail several rules)")
    chart = f'<img alt="rejections by reason" src="{_png(fig)}">'
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
        overview_map_section(layers, roads, cfg),
        sources_section(layers, roads, cfg),
        demand_zones_section(layers["links"], layers["demand_zones"]),
        cheapest_links_section(layers["links"]),
        rejections_by_reason_section(layers["rejected_links"]),
        assumptions_and_config_section(cfg),
        data_sources_section(cfg),
    ]
    return html_page(cfg, generated=generated, sections=sections)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the GeoPackage and write report.html and links.csv."""
    layers = {
        name: gpd.read_file(paths.geopackage, layer=name)
        for name, _ in pyogrio.list_layers(paths.geopackage)
        if name not in ("layer_styles", "run_info")
    }
    roads = read_geoparquet(paths.roads)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = build_report(layers, roads, cfg, generated=generated)
    report = paths.report
    with atomic_path(report) as tmp:
        tmp.write_text(page, encoding="utf-8")
    table = pd.concat(
        [
            layers["links"].drop(columns="geometry").assign(viable=True),
            layers["rejected_links"].drop(columns="geometry").assign(viable=False),
        ],
        ignore_index=True,
    )
    csv = paths.links_csv
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False)
    log.info("wrote %s (%.0f kB) and %s (%d rows)", report, len(page) / 1000, csv, len(table))
    print(summary_text(layers, [paths.geopackage, report, csv]))


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
            f"{r.design_heat_mw:.1f} MW, {lcoh} {getattr(r, lcoh):,.1f}"
        )
    lines += [f"wrote {p}" for p in written]
    return "\n".join(lines)
