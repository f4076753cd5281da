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
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from datetime import UTC, datetime

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pyogrio
import shapely

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.config import RegionFile  # noqa: E402
from pipeline.io import atomic_path, read_geoparquet  # noqa: E402
from pipeline.paths import RegionPaths  # noqa: E402
from pipeline.stages import region_input_files  # noqa: E402

log = logging.getLogger("heatlink.write_report")

VIABLE, RECOMMENDED, REJECTED = "#1a9850", "#08519c", "#d73027"


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


def _decorate(ax: plt.Axes) -> None:
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


def _lines(ax: plt.Axes, gdf: gpd.GeoDataFrame, **style: object) -> None:
    """Draw many lines at once (a LineCollection is far faster than GeoDataFrame.plot)."""
    xy, idx = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    ax.add_collection(LineCollection(np.split(xy, cuts), **style))


def _draw(
    ax: plt.Axes,
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


def _legend(ax: plt.Axes) -> None:
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


def build_report(
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    cfg: RegionFile,
    *,
    generated: str,
) -> str:
    """The report as one HTML string with its images embedded."""
    links, rejected = layers["links"], layers["rejected_links"]
    sources, zones = layers["sources"], layers["demand_zones"]
    lcoh = next((c for c in links.columns if c.startswith("lcoh_")), None)
    parts: list[str] = []

    n_rec = int(links["recommended"].sum()) if "recommended" in links else 0
    summary = (
        f"<p>{len(sources)} heat sources, {len(zones)} demand zones, "
        f"{len(layers.get('existing_networks', []))} existing networks; "
        f"{len(links)} viable links ({n_rec} recommended) and {len(rejected)} rejected "
        f"candidates within {cfg.routing.max_link_length_m:,.0f} m.</p>"
    )
    parts.append(_section("Summary", summary))

    fig, ax = plt.subplots(figsize=(9, 9))
    _draw(ax, roads, layers, links, rejected)
    _decorate(ax)
    _legend(ax)
    ax.set_title(f"{cfg.region.name}: links coloured by viability")
    parts.append(_section("Overview map", f'<img alt="overview map" src="{_png(fig)}">'))

    # per source
    cols = [
        c
        for c in (
            "link_id",
            "zone_id",
            "sink_id",
            "route_length_m",
            "dn",
            "design_heat_mw",
            "allocated_heat_mw",
            "heat_loss_pct",
            lcoh,
        )
        if c and c in links.columns
    ]
    src_rows = []
    for s in sources.itertuples():
        mine = links[links["site_id"] == s.site_id]
        alloc = mine["allocated_source_heat_mw"].sum()
        src_rows.append(
            {
                "site_id": s.site_id,
                "name": s.name,
                "kind": s.kind,
                "heat_available_mw": s.heat_available_mw,
                "allocated_source_heat_mw": alloc,
                "viable_links": len(mine),
                "rejected": int((rejected["site_id"] == s.site_id).sum()),
            }
        )
    parts.append(_section("Sources", _table(pd.DataFrame(src_rows))))
    for s in sources.itertuples():
        mine = links[links["site_id"] == s.site_id]
        theirs = rejected[rejected["site_id"] == s.site_id]
        if mine.empty and theirs.empty:
            continue
        fig, ax = plt.subplots(figsize=(5, 5))
        reach = cfg.routing.max_link_length_m
        x, y = s.geometry.x, s.geometry.y
        _draw(ax, roads, layers, mine, theirs, extent=(x - reach, y - reach, x + reach, y + reach))
        _decorate(ax)
        ax.set_title(f"{s.site_id} {s.name}", fontsize=9)
        best = mine.sort_values(lcoh or "heat_loss_pct").head(5)[cols]
        parts.append(
            f"<h3>{html.escape(str(s.site_id))}: {html.escape(str(s.name))}</h3>"
            f'<div class="src"><img alt="map of {html.escape(str(s.site_id))}" '
            f'src="{_png(fig)}"><div>{_table(best)}</div></div>'
        )

    # per sink
    offered = links.groupby("zone_id")["design_heat_mw"].sum() if len(links) else pd.Series()
    allocated = (
        links.groupby("zone_id")["allocated_heat_mw"].sum()
        if "allocated_heat_mw" in links and len(links)
        else pd.Series(dtype=float)
    )
    zt = zones[["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"]].copy()
    zt["heat_offered_mw"] = zt["zone_id"].map(offered).fillna(0.0)
    zt["allocated_heat_mw"] = zt["zone_id"].map(allocated).fillna(0.0)
    parts.append(_section("Demand zones", _table(zt)))

    # cheapest links
    key = lcoh or "heat_loss_pct"
    top = links.sort_values(key).head(15)[["site_id", *cols]] if len(links) else links
    parts.append(_section(f"Top links by {key}", _table(top)))

    # rejections
    reasons = (
        rejected["reason"].astype(str).str.split(";").explode().value_counts()
        if len(rejected)
        else pd.Series(dtype=int)
    )
    if len(reasons):
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(reasons) + 1))
        reasons.sort_values().plot.barh(ax=ax, color=REJECTED)
        ax.set_xlabel("rejected candidates (a candidate can fail several rules)")
        body = f'<img alt="rejections by reason" src="{_png(fig)}">' + _table(
            reasons.rename_axis("reason").reset_index(name="count")
        )
    else:
        body = "<p>No candidate was rejected.</p>"
    parts.append(_section("Rejections by reason", body))

    notes = (
        "<ul><li>Recovering waste heat does not reduce the data centre's own emissions; "
        "carbon figures count only the displaced boiler heat against the heat-pump and "
        "pumping electricity.</li><li>Annual figures are per year; lifetime figures are "
        "labelled as such.</li><li>Sites marked hypothetical in the inputs are not real "
        "facilities.</li></ul>"
    )
    config = html.escape(json.dumps(cfg.model_dump(mode="json"), indent=1, default=str))
    parts.append(
        _section(
            "Assumptions and config",
            notes + f"<details open><summary>Region file, resolved</summary><pre>{config}</pre>"
            "</details><p>Formulas and sources: docs/methodology.md. Fields and units: "
            "docs/outputs.md.</p>",
        )
    )
    parts.append(
        _section(
            "Data sources",
            "<ul>"
            + "".join(
                f"<li><code>{html.escape(key)}</code>: {html.escape(str(p))}</li>"
                for key, p in region_input_files(cfg).items()
            )
            + "</ul>",
        )
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "img{max-width:100%}table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}"
        ".t td,.t th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
        ".src{display:flex;gap:1em;align-items:flex-start}.src img{width:380px}"
        "pre{font-size:11px;background:#f6f6f6;padding:1em;overflow:auto}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>heatlink report: {html.escape(cfg.region.name)}</title>"
        f"<style>{style}</style></head><body>"
        f"<h1>Waste-heat links: {html.escape(cfg.region.name)}</h1>"
        f"<p>heatlink {__version__}, {html.escape(generated)}. CRS {html.escape(str(cfg.crs))}."
        "</p>" + "".join(parts) + "</body></html>"
    )


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
    lcoh = next((c for c in links.columns if c.startswith("lcoh_")), "heat_loss_pct")
    reasons = layers["rejected_links"]["reason"].astype(str).str.split(";").explode().value_counts()
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
