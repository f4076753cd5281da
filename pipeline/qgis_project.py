"""The QGIS project written beside a region's GeoPackage (``heat_links.qgz``).

A ``.qgz`` is a zip archive holding one ``.qgs`` XML project. It is written here with
:mod:`zipfile` and :mod:`xml.etree.ElementTree`, so no QGIS is needed to write it; it
opens in QGIS 3.22 LTR and later. The project holds every layer of the GeoPackage,
styled with the layer's stored style, in the groups of :data:`GROUPS`, in the region's
CRS, with the map extent of the layers. Layers point at the GeoPackage by a path
relative to the project (``./heat_links.gpkg|layername=links``), so the output folder can
be moved or copied as a whole.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS

from pipeline.io import atomic_path

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Recommended", ("networks", "network_pipes")),
    ("Candidates", ("links", "corridors", "rejected_links")),
    ("Inputs", ("network_qa", "sources", "sinks", "existing_networks", "demand_zones")),
)
"""The layer tree, top to bottom: each group and its layers, in drawing order (the first
is drawn on top)."""
HIDDEN = frozenset({"corridors", "rejected_links"})
"""Layers in the project but switched off when it opens (they repeat or clutter the links)."""
QGIS_VERSION = "3.22.0-Białowieża"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same project gives the same bytes


@dataclass(frozen=True)
class ProjectLayer:
    """One GeoPackage layer as the project shows it.

    Parameters
    ----------
    name
        The layer's table name in the GeoPackage.
    geometry_type
        Its OGC geometry type, e.g. ``LineString`` or ``MultiPolygon``.
    style_qml
        Its QGIS style (a QML document), or None to let QGIS pick a default symbol.
    """

    name: str
    geometry_type: str
    style_qml: str | None = None

    @property
    def layer_id(self) -> str:
        """A stable id, so the same outputs give the same project."""
        return f"heatlink_{self.name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def spatialrefsys(crs: CRS) -> ET.Element:
    """The ``<spatialrefsys>`` QGIS reads a CRS from: WKT, PROJ string, authority id.

    Examples
    --------
    >>> srs = spatialrefsys(CRS.from_epsg(27700))
    >>> srs.findtext("authid"), srs.findtext("srid"), srs.findtext("geographicflag")
    ('EPSG:27700', '27700', 'false')
    >>> srs.findtext("description")
    'OSGB36 / British National Grid'
    """
    with warnings.catch_warnings():  # pyproj warns that a PROJ string loses information
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    authority = crs.to_authority() or ("", "")
    params = dict(p.lstrip("+").split("=", 1) for p in proj4.split() if "=" in p)
    ellipsoid = crs.ellipsoid.to_json_dict().get("id", {}) if crs.ellipsoid else {}
    srs = ET.Element("spatialrefsys", nativeFormat="Wkt")
    _sub(srs, "wkt", crs.to_wkt("WKT2_2019"))
    _sub(srs, "proj4", proj4)
    _sub(srs, "srid", authority[1])
    _sub(srs, "authid", ":".join(authority) if authority[0] else "")
    _sub(srs, "description", crs.name)
    _sub(srs, "projectionacronym", params.get("proj", ""))
    _sub(
        srs,
        "ellipsoidacronym",
        f"{ellipsoid['authority']}:{ellipsoid['code']}" if ellipsoid else "",
    )
    _sub(srs, "geographicflag", "true" if crs.is_geographic else "false")
    return srs


def _geometry_kind(geometry_type: str) -> str:
    """QGIS's geometry kind of an OGC type: Point, Line or Polygon."""
    base = geometry_type.removeprefix("Multi")
    return {"LineString": "Line"}.get(base, base)


def _extent(parent: ET.Element, tag: str, bounds: tuple[float, float, float, float]) -> None:
    box = _sub(parent, tag)
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
        _sub(box, key, repr(float(value)))


def _map_layer(layer: ProjectLayer, source: str, crs: CRS) -> ET.Element:
    """A ``<maplayer>`` with the layer's source, CRS and its style embedded."""
    element = ET.Element(
        "maplayer",
        type="vector",
        geometry=_geometry_kind(layer.geometry_type),
        wkbType=layer.geometry_type,
        autoRefreshEnabled="0",
        styleCategories="AllStyleCategories",
    )
    _sub(element, "id", layer.layer_id)
    _sub(element, "datasource", source)
    _sub(element, "layername", layer.name)
    _sub(element, "srs").append(spatialrefsys(crs))
    _sub(element, "provider", "ogr", encoding="UTF-8")
    if layer.style_qml is not None:
        element.extend(list(ET.fromstring(layer.style_qml)))
    return element


def _layer_tree(root: ET.Element, layers: Mapping[str, ProjectLayer], gpkg_name: str) -> None:
    tree = _sub(root, "layer-tree-group")
    _sub(tree, "customproperties")
    for group_name, names in GROUPS:
        group = _sub(tree, "layer-tree-group", name=group_name, checked="Qt::Checked")
        group.set("expanded", "1")
        _sub(group, "customproperties")
        for name in names:
            if name not in layers:
                continue
            node = _sub(
                group,
                "layer-tree-layer",
                id=layers[name].layer_id,
                name=name,
                source=f"./{gpkg_name}|layername={name}",
                providerKey="ogr",
                checked="Qt::Unchecked" if name in HIDDEN else "Qt::Checked",
                expanded="1",
            )
            _sub(node, "customproperties")


def _view(
    root: ET.Element, crs: CRS, extent: tuple[float, float, float, float], units: str
) -> None:
    """The map canvas and the project's default view: the extent, in the project CRS."""
    canvas = _sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    _sub(canvas, "units", units)
    _extent(canvas, "extent", extent)
    _sub(canvas, "rotation", "0")
    _sub(canvas, "destinationsrs").append(spatialrefsys(crs))
    _sub(canvas, "rendermaptile", "0")
    view = _sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    default = _sub(view, "DefaultViewExtent")
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        default.set(key, repr(float(value)))
    default.append(spatialrefsys(crs))


def project_document(
    layers: Iterable[ProjectLayer],
    *,
    gpkg_name: str,
    crs: CRS,
    extent: tuple[float, float, float, float],
    title: str,
) -> ET.Element:
    """The ``<qgis>`` project: the layers in the groups of :data:`GROUPS`, in ``crs``.

    Raises
    ------
    ValueError
        If a layer belongs to no group (every layer of the GeoPackage must be shown).

    Examples
    --------
    >>> doc = project_document(
    ...     [ProjectLayer("links", "LineString")],
    ...     gpkg_name="heat_links.gpkg", crs=CRS.from_epsg(27700),
    ...     extent=(0.0, 0.0, 10.0, 10.0), title="tiny",
    ... )
    >>> doc.findtext("projectlayers/maplayer/datasource")
    './heat_links.gpkg|layername=links'
    >>> [g.get("name") for g in doc.findall("layer-tree-group/layer-tree-group")]
    ['Recommended', 'Candidates', 'Inputs']
    """
    by_name = {layer.name: layer for layer in layers}
    grouped = {name for _, names in GROUPS for name in names}
    if set(by_name) - grouped:
        raise ValueError(f"layers in no group of GROUPS: {sorted(set(by_name) - grouped)}")
    ordered = [by_name[n] for _, names in GROUPS for n in names if n in by_name]
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    _sub(root, "homePath", path="")
    _sub(root, "title", title)
    _sub(root, "projectCrs").append(spatialrefsys(crs))
    _layer_tree(root, by_name, gpkg_name)
    units = "degrees" if crs.is_geographic else "meters"
    _view(root, crs, extent, units)
    layers_element = _sub(root, "projectlayers")
    for layer in ordered:
        layers_element.append(_map_layer(layer, f"./{gpkg_name}|layername={layer.name}", crs))
    order = _sub(root, "layerorder")
    for layer in ordered:
        _sub(order, "layer", id=layer.layer_id)
    properties = _sub(root, "properties")
    paths = _sub(properties, "Paths")
    _sub(paths, "Absolute", "false", type="bool")
    # QGIS reads <projectCrs> only where the project says it has one
    _sub(_sub(properties, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    return root


def write_qgis_project(
    path: Path,
    layers: Iterable[ProjectLayer],
    *,
    gpkg: Path,
    crs: CRS,
    extent: tuple[float, float, float, float],
    title: str = "heatlink",
) -> None:
    """Write the project of :func:`project_document` to ``path`` (a ``.qgz``), atomically.

    ``gpkg`` is the GeoPackage the layers come from; it must be in the same folder as
    ``path``, since the layers name it by a relative path.
    """
    if gpkg.parent.resolve() != path.parent.resolve():
        raise ValueError(f"{gpkg} is not in the folder of the project {path}")
    document = project_document(layers, gpkg_name=gpkg.name, crs=crs, extent=extent, title=title)
    ET.indent(document)
    text = DOCTYPE + ET.tostring(document, encoding="unicode") + "\n"
    entry = zipfile.ZipInfo(f"{path.stem}.qgs", date_time=ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr(entry, text.encode("utf-8"))
