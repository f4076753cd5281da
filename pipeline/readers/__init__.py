"""Readers of the pipeline's input files, and the checks they share at the border.

Every input a stage reads comes through one module here: :mod:`~pipeline.readers.osm`
(OSM PBF and XML with pyosmium, OSM buildings with pyrosm), :mod:`~pipeline.readers.gdal`
(any vector layer GDAL reads), :mod:`~pipeline.readers.overpass` (downloads, cached),
:mod:`~pipeline.readers.tables` (site CSVs, the Hotmaps industrial database, building
demand) and :mod:`~pipeline.readers.raster` (heat-demand GeoTIFFs). Their CRS, geometry
and number checks live once in :mod:`~pipeline.readers.checks`: a bad file ends with one
:class:`~pipeline.errors.InputError` naming the file, and what a reader drops is logged
with a count.

Nothing is imported here, so that importing one reader does not load the others'
dependencies (osmium, osmnx, rasterio).
"""
