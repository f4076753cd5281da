"""The interactive map of the review report (:mod:`pipeline.stages.write_report`).

A pan-and-zoom map drawn in the browser by Leaflet, whose released ``leaflet.js`` and
``leaflet.css`` (BSD-2-Clause, ``pipeline/data/vendor/leaflet/LICENSE``) are embedded
in the page with the map's data, so that it works with no network at all: there are no
tiles and nothing is fetched.

- The map is in the region's projected CRS, in metres: Leaflet's ``L.CRS.Simple`` with
  ``y`` as latitude and ``x`` as longitude. Nothing is reprojected, the road image lies
  exactly under the vectors (an image warped to Web Mercator would not), the scale bar
  reads metres and a feature's coordinates are those of the GeoPackage.
- The roads are one PNG of :func:`pipeline.report_maps.road_rgba`, of
  :data:`ROAD_IMAGE_PX` cells along the region's longer side, laid as an
  ``L.imageOverlay``: a million road edges cost the same few megabytes as a thousand.
- Every other layer is embedded as GeoJSON (:func:`feature_collection`): geometries
  simplified and rounded to :data:`PRECISION_M`, properties cut to the fields that a
  popup shows (:data:`POPUP_FIELDS`) with their units from ``fields.csv``.
- The layers (:func:`web_layers`): sources, demand zones, existing networks,
  recommended links, other viable links, rejected links coloured by their first reason
  code and the designed networks' pipes coloured and sized by DN, each switched on and
  off in the layer control and listed in the legend.
- ``window.heatlinkMap`` holds the map and the number of features of each layer as
  drawn (``counts``, and ``linkCount`` for the three link layers), and the map's
  ``<div>`` the same numbers as ``data-`` attributes, for tests and for the curious.

Only numpy, shapely and geopandas are imported at module level; the PNG encoder (PIL)
is imported when the road image is drawn.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline import report_maps as maps
from pipeline.data import load_fields

ROAD_IMAGE_PX = 2048
"""Cells of the road image along the longer side of the region (35 m at the 1M-edge
benchmark): about 2.5 MB of PNG for a dense region."""
ROAD_GREY = 150
"""The roads' grey on the interactive map (0-255)."""
MIN_ROAD_CELL_M = 2.0
"""The road image's cells are never finer than this, however small the region."""
PRECISION_M = 1.0
"""Vertices are simplified to within and rounded to this many metres."""
MAP_HEIGHT_PX = 640

POPUP_FIELDS: dict[str, tuple[str, ...]] = {
    "sources": ("site_id", "name", "kind", "heat_available_mw", "it_load_mw", "source_temp_c"),
    "demand_zones": ("zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"),
    "existing_networks": ("network_id", "length_m", "n_pipes", "annual_demand_mwh"),
    "links": (
        "link_id",
        "site_id",
        "sink_id",
        "route_length_m",
        "dn",
        "design_network_heat_mw",
        "allocated_network_heat_mw",
        "delivered_heat_mwh",
        "heat_loss_pct",
        "co2_saved_t_per_yr",
        "capex_eur",
        "lcoh_transmission_eur_per_mwh",
        "lcoh_eur_per_mwh_p10",
        "lcoh_eur_per_mwh_p50",
        "lcoh_eur_per_mwh_p90",
        "co2_saved_t_per_yr_p10",
        "co2_saved_t_per_yr_p50",
        "co2_saved_t_per_yr_p90",
        "prob_viable",
        "lcoh_delivered_eur_per_mwh",
    ),
    "rejected_links": (
        "link_id",
        "site_id",
        "sink_id",
        "reason",
        "route_length_m",
        "straight_distance_m",
    ),
    "network_pipes": (
        "network_id",
        "site_ids",
        "dn",
        "length_m",
        "design_network_heat_mw",
        "n_consumers",
        "capex_eur",
    ),
}
"""The fields each layer's popup shows, cost fields named for EUR (renamed for the
run's currency), those of them that the layer has."""

REASON_COLOURS = ("#d73027", "#e7298a", "#a6761d", "#e6ab02", "#525252", "#f46d43", "#8c510a")
"""Colours of the rejected links, by first reason code, most frequent code first."""
DN_COLOURS = ("#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d")
"""Colours of the designed networks' pipes, from the smallest DN to the largest."""

_CURRENCY = re.compile(r"_eur(?=_|$)")


class WebLayer(NamedTuple):
    """One layer of the interactive map, as the page's script reads it."""

    key: str
    """``sources``, ``recommended``, ``viable``, ``rejected``, ... (``counts`` keys)."""
    title: str
    """Its name in the layer control and the legend."""
    features: list[dict]
    """GeoJSON features; ``properties._k`` indexes ``classes``."""
    style: dict
    """Leaflet path options of every feature."""
    classes: list[dict]
    """Options that override ``style`` per class, each with its legend ``label``."""
    units: dict[str, str]
    """Unit of each property that has one."""


@cache
def field_units(currency: str) -> dict[str, dict[str, str]]:
    """The unit of each field of each layer (``fields.csv``), cost fields named for and
    priced in ``currency``; fields without a unit are left out.

    Examples
    --------
    >>> units = field_units("GBP")["links"]
    >>> units["route_length_m"], units["lcoh_transmission_gbp_per_mwh"], "link_id" in units
    ('m', 'GBP/MWh', False)
    """
    fields = load_fields()
    units: dict[str, dict[str, str]] = {}
    cur = currency.lower()
    for layer, field, unit in fields[["layer", "field", "unit"]].itertuples(index=False):
        if unit:
            named = _CURRENCY.sub("_" + cur, field)
            units.setdefault(layer, {})[named] = unit.replace("EUR", currency.upper())
    return units


def geojson_geometries(geoms: np.ndarray, *, precision_m: float = PRECISION_M) -> list[dict]:
    """Geometries as GeoJSON objects, simplified to within and rounded to ``precision_m``.

    Examples
    --------
    >>> line = shapely.LineString([(0.4, 0.2), (10.0, 0.1), (20.6, 0.0)])
    >>> geojson_geometries(np.array([line]))
    [{'type': 'LineString', 'coordinates': [[0, 0], [21, 0]]}]
    """
    simple = shapely.simplify(geoms, precision_m)
    rounded = shapely.transform(simple, lambda xy: np.round(xy / precision_m) * precision_m)
    texts = shapely.to_geojson(rounded)
    return [json.loads(re.sub(r"\.0(?=[,\]])", "", t)) for t in texts]


def _json_value(value: object) -> object:
    """A property value as JSON takes it: floats to 2 decimals, gaps as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 2)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return str(value) if not isinstance(value, bool | int) else value


def feature_collection(
    gdf: gpd.GeoDataFrame, fields: list[str], classes: np.ndarray | None = None
) -> list[dict]:
    """The features of ``gdf`` with a geometry, with the ``fields`` it has as properties
    and, when given, each feature's class index as ``_k``.

    Examples
    --------
    >>> gdf = gpd.GeoDataFrame({"id": ["a", "b"], "mw": [1.234, np.nan]},
    ...     geometry=[shapely.Point(1, 2), None])
    >>> feature_collection(gdf, ["id", "mw", "dn"])
    [{'type': 'Feature', 'geometry': {'type': 'Point', 'coordinates': [1, 2]}, \
'properties': {'id': 'a', 'mw': 1.23}}]
    """
    geoms = gdf.geometry.to_numpy()
    drawn = np.flatnonzero(shapely.is_geometry(geoms) & ~shapely.is_empty(geoms))
    shown = [f for f in fields if f in gdf.columns]
    values = gdf[shown].to_numpy(dtype=object)[drawn]
    features = []
    for i, geometry, row in zip(drawn, geojson_geometries(geoms[drawn]), values, strict=True):
        props = {f: _json_value(v) for f, v in zip(shown, row, strict=True)}
        if classes is not None:
            props["_k"] = int(classes[i])
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return features


def _fields(layer: str, currency: str) -> list[str]:
    """The popup fields of ``layer`` named for ``currency``."""
    return [_CURRENCY.sub("_" + currency.lower(), f) for f in POPUP_FIELDS[layer]]


def _layer(
    key: str, title: str, gdf: gpd.GeoDataFrame, source: str, currency: str, **options
) -> WebLayer:
    """A :class:`WebLayer` of ``gdf``, whose fields are those of the GeoPackage layer
    ``source``; ``options``: ``style``, and ``classes`` with ``class_of`` (an index into
    them per row of ``gdf``)."""
    features = feature_collection(gdf, _fields(source, currency), options.get("class_of"))
    return WebLayer(
        key,
        title,
        features,
        options["style"],
        options.get("classes", []),
        field_units(currency).get(source, {}),
    )


def reason_classes(reasons: pd.Series) -> tuple[np.ndarray, list[dict]]:
    """Each rejected link's class (its first reason code, most frequent first) and the
    classes' colours and labels.

    Examples
    --------
    >>> index, classes = reason_classes(pd.Series(["a;b", "b", "b", None]))
    >>> index.tolist(), [c["label"] for c in classes]
    ([1, 0, 0, 2], ['rejected: b', 'rejected: a', 'rejected: unknown'])
    """
    first = reasons.fillna("unknown").astype(str).str.split(";").str[0]
    codes = first.value_counts(sort=True).index.tolist()
    colours = {c: REASON_COLOURS[i % len(REASON_COLOURS)] for i, c in enumerate(codes)}
    classes = [{"color": colours[c], "label": f"rejected: {c}"} for c in codes]
    return first.map({c: i for i, c in enumerate(codes)}).to_numpy(int), classes


def dn_classes(dn: pd.Series) -> tuple[np.ndarray, list[dict]]:
    """Each pipe's class (its DN, smallest first) and the classes' colours, widths in
    pixels and labels.

    Examples
    --------
    >>> index, classes = dn_classes(pd.Series([200, 50, 200]))
    >>> index.tolist(), [(c["label"], c["weight"]) for c in classes]
    ([1, 0, 1], [('pipe DN50', 2.7), ('pipe DN200', 5.1)])
    """
    sizes = sorted(int(d) for d in dn.dropna().unique())
    steps = np.linspace(0, len(DN_COLOURS) - 1, max(len(sizes), 1)).round().astype(int)
    classes = [
        {
            "color": DN_COLOURS[step],
            "weight": round(maps._dn_width(size) * 4 / 3, 1),  # points to CSS pixels
            "label": f"pipe DN{size}",
        }
        for size, step in zip(sizes, steps, strict=False)
    ]
    index = dn.map({s: i for i, s in enumerate(sizes)}).fillna(0).to_numpy(int)
    return index, classes


def link_layers(layers: dict[str, gpd.GeoDataFrame], currency: str) -> list[WebLayer]:
    """The recommended links, the other viable links and the rejected links."""
    links, rejected = layers["links"], layers["rejected_links"]
    rec = links.get("recommended", pd.Series(False, index=links.index)).fillna(False)
    rec = rec.astype(bool)
    routed = rejected.geometry.notna() & ~rejected.geometry.is_empty
    rejected = rejected[routed]  # a candidate without a route has nothing to draw
    reasons, classes = reason_classes(rejected["reason"])
    return [
        _layer(
            "recommended",
            "Recommended links",
            links[rec],
            "links",
            currency,
            style={"color": maps.RECOMMENDED, "weight": 4},
        ),
        _layer(
            "viable",
            "Other viable links",
            links[~rec],
            "links",
            currency,
            style={"color": maps.VIABLE, "weight": 2.5},
        ),
        _layer(
            "rejected",
            "Rejected links",
            rejected,
            "rejected_links",
            currency,
            style={"weight": 1.5, "dashArray": "6 4"},
            classes=classes,
            class_of=reasons,
        ),
    ]


def web_layers(layers: dict[str, gpd.GeoDataFrame], currency: str) -> list[WebLayer]:
    """Every layer of the interactive map, bottom to top."""
    drawn = [
        _layer(
            "demand_zones",
            "Demand zones",
            layers["demand_zones"],
            "demand_zones",
            currency,
            style={"color": "#f46d43", "weight": 1, "fillColor": "#fdae61", "fillOpacity": 0.5},
        ),
    ]
    existing = layers.get("existing_networks")
    if existing is not None and len(existing):
        drawn.append(
            _layer(
                "existing_networks",
                "Existing networks",
                existing,
                "existing_networks",
                currency,
                style={"color": "#762a83", "weight": 3},
            )
        )
    pipes = layers.get("network_pipes")
    if pipes is not None and len(pipes):
        index, classes = dn_classes(pipes["dn"])
        drawn.append(
            _layer(
                "network_pipes",
                "Designed networks by DN",
                pipes,
                "network_pipes",
                currency,
                style={"opacity": 0.9},
                classes=classes,
                class_of=index,
            )
        )
    drawn += link_layers(layers, currency)
    drawn.append(
        _layer(
            "sources",
            "Heat sources",
            layers["sources"],
            "sources",
            currency,
            style={
                "radius": 5,
                "color": "#ffffff",
                "weight": 1,
                "fillColor": "#000000",
                "fillOpacity": 1,
            },
        )
    )
    return drawn


def road_overlay(roads: gpd.GeoDataFrame) -> dict | None:
    """The roads as an image for ``L.imageOverlay``: its data URI and extent."""
    if not len(roads):
        return None
    x0, y0, x1, y1 = roads.total_bounds
    pixels = min(ROAD_IMAGE_PX, max(x1 - x0, y1 - y0) / MIN_ROAD_CELL_M)
    rgba, extent = maps.road_rgba(roads, pixels)
    grey_alpha = np.empty((*rgba.shape[:2], 2), dtype=np.uint8)  # a PNG of two channels
    grey_alpha[..., 0] = ROAD_GREY  # darker than on paper: the image is shown shrunk at first
    grey_alpha[..., 1] = rgba[..., 3] // 16 * 17  # 16 levels of opacity pack into less PNG
    return {
        "url": maps.png_data_uri(grey_alpha),
        "extent": [round(v, 1) for v in extent],
        "color": f"#{ROAD_GREY:02x}{ROAD_GREY:02x}{ROAD_GREY:02x}",
    }


def map_data(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, *, currency: str
) -> dict:
    """Everything the page's script draws: the layers, the road image, the extent to
    show first and the zoom range."""
    drawn = web_layers(layers, currency)
    bounds = [
        shapely.total_bounds(g.geometry.to_numpy()) for g in (roads, *layers.values()) if len(g)
    ]
    stacked = np.array([b for b in bounds if np.isfinite(b).all()] or [[0.0, 0.0, 1.0, 1.0]])
    extent = [*stacked[:, :2].min(axis=0), *stacked[:, 2:].max(axis=0)]
    span = max(extent[2] - extent[0], extent[3] - extent[1], 100.0)
    return {
        "extent": [round(float(v), 1) for v in extent],
        "minZoom": int(np.floor(-np.log2(span / 256))) - 1,
        "maxZoom": 4,
        "roads": road_overlay(roads),
        "layers": [layer._asdict() for layer in drawn],
    }


@cache
def _vendored(name: str) -> str:
    """A file of the vendored Leaflet release, as text."""
    return files("pipeline.data").joinpath("vendor", "leaflet", name).read_text(encoding="utf-8")


def leaflet_css() -> str:
    """``leaflet.css`` with its images (the layer control's icon) inlined as data URIs,
    so that the page asks for no file."""
    import base64

    def inline(match: re.Match) -> str:
        image = files("pipeline.data").joinpath("vendor", "leaflet", "images", match.group(1))
        if not image.is_file():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(image.read_bytes()).decode() + ")"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", inline, _vendored("leaflet.css"))


def leaflet_js() -> str:
    """``leaflet.js`` as the page embeds it. Its one link, to leafletjs.com in the map's
    attribution, is written ``href=\\"https:...`` (the same string in its single-quoted
    JavaScript literal), so that the page's markup holds no ``href="http`` of a remote
    file: the report is checked for those, and a browser follows none of them."""
    return _script_safe(_vendored("leaflet.js")).replace('href="http', 'href=\\"http')


def _script_safe(text: str) -> str:
    """Text that can sit inside a ``<script>`` element: no ``</`` closes it early."""
    return text.replace("</", "<\\/")


MAP_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("heatlink-map-data").textContent);
  var box = function (e) { return [[e[1], e[0]], [e[3], e[2]]]; };
  var map = L.map("heatlink-map", {crs: L.CRS.Simple, minZoom: data.minZoom,
    maxZoom: data.maxZoom, zoomSnap: 0.25, preferCanvas: true});
  var esc = function (s) { var d = document.createElement("div"); d.textContent = s;
    return d.innerHTML; };
  var overlays = {}, counts = {}, legend = [];
  if (data.roads) {
    overlays.Roads = L.imageOverlay(data.roads.url, box(data.roads.extent)).addTo(map);
    legend.push({label: "roads", color: data.roads.color});
  }
  data.layers.forEach(function (layer) {
    var styleOf = function (f) {
      var k = f.properties._k;
      return Object.assign({}, layer.style, k === undefined ? {} : layer.classes[k]);
    };
    var popup = function (f) {
      var rows = Object.keys(f.properties).filter(function (k) { return k[0] !== "_"; })
        .map(function (k) {
          var v = f.properties[k], unit = layer.units[k] ? " " + layer.units[k] : "";
          if (v === null) { v = "\u2013"; unit = ""; }
          else if (typeof v === "number") {
            v = v.toLocaleString("en", {maximumFractionDigits: 2});
          }
          return "<tr><th>" + esc(k) + "</th><td>" + esc(v + unit) + "</td></tr>";
        });
      return "<b>" + esc(layer.title) + "</b><table>" + rows.join("") + "</table>";
    };
    var group = L.geoJSON({type: "FeatureCollection", features: layer.features}, {
      coordsToLatLng: function (c) { return L.latLng(c[1], c[0]); },
      style: styleOf,
      pointToLayer: function (f, ll) { return L.circleMarker(ll, styleOf(f)); },
      onEachFeature: function (f, l) { l.bindPopup(popup(f)); }
    }).addTo(map);
    counts[layer.key] = group.getLayers().length;
    overlays[esc(layer.title) + " (" + counts[layer.key] + ")"] = group;
    if (!counts[layer.key]) { return; }  // nothing drawn: nothing in the legend
    (layer.classes.length ? layer.classes : [layer.style]).forEach(function (c) {
      var s = Object.assign({}, layer.style, c);
      legend.push({label: c.label || layer.title, color: s.fillColor || s.color,
        dash: s.dashArray});
    });
  });
  L.control.layers(null, overlays, {collapsed: false}).addTo(map);
  L.control.scale({imperial: false}).addTo(map);
  var key = L.control({position: "bottomright"});
  key.onAdd = function () {
    var div = L.DomUtil.create("div", "heatlink-legend");
    div.innerHTML = legend.map(function (e) {
      return "<div><i style=\\"border-top:4px " + (e.dash ? "dashed " : "solid ") + e.color +
        "\\"></i>" + esc(e.label) + "</div>";
    }).join("");
    return div;
  };
  key.addTo(map);
  map.fitBounds(box(data.extent));
  var linkCount = (counts.recommended || 0) + (counts.viable || 0) + (counts.rejected || 0);
  var el = document.getElementById("heatlink-map");
  el.dataset.linkCount = linkCount;
  el.dataset.counts = JSON.stringify(counts);
  window.heatlinkMap = {map: map, counts: counts, linkCount: linkCount};
})();
"""

MAP_STYLE = (
    f"#heatlink-map{{height:{MAP_HEIGHT_PX}px;border:1px solid #ccc;background:#fff}}"
    ".heatlink-legend{background:rgba(255,255,255,.9);padding:4px 8px;font-size:11px;"
    "line-height:16px;border-radius:4px}"
    ".heatlink-legend i{display:inline-block;width:18px;margin:0 6px 3px 0;"
    "vertical-align:middle}"
    ".leaflet-popup-content table{font-size:11px}"
    ".leaflet-popup-content th{text-align:left;padding-right:8px;font-weight:normal;"
    "color:#555}"
    "@media print{#heatlink-map{display:none}}"
)


def map_html(layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, *, currency: str) -> str:
    """The map's ``<div>``, with Leaflet, the map's data and its script, all embedded."""
    data = json.dumps(map_data(layers, roads, currency=currency), separators=(",", ":"))
    return (
        f"<style>{leaflet_css()}{MAP_STYLE}</style>"
        '<div id="heatlink-map"></div>'
        f"<script>{leaflet_js()}</script>"
        f'<script type="application/json" id="heatlink-map-data">{_script_safe(data)}</script>'
        f"<script>{_script_safe(MAP_SCRIPT)}</script>"
    )
